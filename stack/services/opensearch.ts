import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NATIVE_PORTS } from '../endpoints.ts';
import { repoRoot, serviceDir } from '../paths.ts';
import { requireJava } from '../java-runtime.ts';
import { requireCommand } from '../prerequisites.ts';
import { mavenDependencies, provisionOnce } from '../provision.ts';
import { fetchJson, type Service } from '../service.ts';
import { startDetached } from '../supervisor.ts';

const home = serviceDir('opensearch');
const libDir = join(home, 'lib');
const classesDir = join(home, 'classes');
const launcherSource = join(repoRoot, 'stack/java/opensearch/src/Launcher.java');
const baseUrl = `http://127.0.0.1:${NATIVE_PORTS.opensearch}`;

export const opensearchService: Service = {
  name: 'opensearch',
  address: baseUrl,
  ports: [NATIVE_PORTS.opensearch, NATIVE_PORTS.opensearchTransport],
  readyTimeoutMs: 120_000,

  async provision() {
    mavenDependencies(join(repoRoot, 'stack/java/opensearch/pom.xml'), libDir);
    const javac = requireCommand('javac', 'Install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless).');
    provisionOnce(
      classesDir,
      [readFileSync(launcherSource, 'utf8'), readFileSync(join(repoRoot, 'stack/java/opensearch/pom.xml'), 'utf8')],
      (dir) => {
        execFileSync(javac, ['-d', dir, '-cp', `${libDir}/*`, launcherSource], { stdio: 'inherit' });
      },
    );
  },

  async start() {
    const java = requireJava(17);
    return startDetached('opensearch', java, [
      '-Xms384m',
      '-Xmx512m',
      '-XX:+UseG1GC',
      '-Dlog4j2.disable.jmx=true',
      '-Dopensearch.set.netty.runtime.available.processors=false',
      '-cp',
      `${libDir}/*:${classesDir}`,
      'Launcher',
      home,
      String(NATIVE_PORTS.opensearch),
      String(NATIVE_PORTS.opensearchTransport),
    ]);
  },

  async ready() {
    const health = (await fetchJson(`${baseUrl}/_cluster/health`)) as { status?: string };
    return health.status === 'green';
  },

  async version() {
    const info = (await fetchJson(baseUrl)) as { version?: { number?: string } };
    return info.version?.number ?? 'unknown';
  },
};
