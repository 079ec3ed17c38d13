import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { NATIVE_PORTS } from '../endpoints.ts';
import { serviceDir } from '../paths.ts';
import { requireJava } from '../java-runtime.ts';
import { mavenArtifact } from '../provision.ts';
import { fetchJson, type Service } from '../service.ts';
import { startDetached } from '../supervisor.ts';

const APICURIO_VERSION = '3.3.3';
/** Apicurio Registry 3.3 is compiled for Java 21. */
export const REGISTRY_JAVA = 21;
const home = serviceDir('registry');
const appDir = join(home, 'app');
const baseUrl = `http://127.0.0.1:${NATIVE_PORTS.registry}`;

export const registryService: Service = {
  name: 'registry',
  address: `${baseUrl}/apis/ccompat/v7`,
  ports: [NATIVE_PORTS.registry, NATIVE_PORTS.registryManagement],
  readyTimeoutMs: 90_000,

  async provision() {
    mavenArtifact(`io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`, appDir, (file, dir) => {
      execFileSync('tar', ['xzf', file, '-C', dir]);
    });
  },

  async start() {
    const java = requireJava(REGISTRY_JAVA);
    return startDetached(
      'registry',
      java,
      [
        '-Xms128m',
        '-Xmx384m',
        `-Dquarkus.http.port=${NATIVE_PORTS.registry}`,
        '-Dquarkus.http.host=127.0.0.1',
        // The management interface is fixed on at build time: keep it on loopback, on a port of the stack's.
        '-Dquarkus.management.host=127.0.0.1',
        `-Dquarkus.management.port=${NATIVE_PORTS.registryManagement}`,
        // Schemas on disk (H2 file), not in memory: a restarted registry still knows the ids in the topics,
        // or every record written before the restart would fail to decode.
        `-Dapicurio.datasource.url=jdbc:h2:file:${join(home, 'data', 'registry')}`,
        '-jar',
        join(appDir, 'quarkus-run.jar'),
      ],
      { cwd: appDir },
    );
  },

  async ready() {
    return Array.isArray(await fetchJson(`${this.address}/subjects`));
  },

  async version() {
    const info = (await fetchJson(`${baseUrl}/apis/registry/v3/system/info`)) as { version?: string };
    return info.version ?? 'unknown';
  },
};
