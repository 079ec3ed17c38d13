import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { requireJava } from '../stack/java-runtime.ts';
import { kafkaToolsVersion } from './producer-performance.ts';

const packageVersion = (name: string): string =>
  (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;

/** The machine and the versions a benchmark's figures belong to, as one line. */
export function machineAndVersions(): string {
  const java =
    /version "([^"]+)"/.exec(spawnSync(requireJava(17), ['-version'], { encoding: 'utf8' }).stderr ?? '')?.[1] ??
    'unknown';
  const libraries = [
    'kafkajs',
    'avsc',
    '@kafkajs/confluent-schema-registry',
    'ioredis',
    '@opensearch-project/opensearch',
    'chdb',
  ].map((name) => `${name} ${packageVersion(name)}`);
  return (
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${libraries.join(', ')}; ` +
    `kafka-tools ${kafkaToolsVersion()} on Java ${java}`
  );
}
