import { createRequire } from 'node:module';
import { ENDPOINT_VARIABLES } from './endpoints.ts';

/**
 * ClickHouse is not a process of the stack: it runs embedded (chDB) inside the process that owns its
 * data directory, unless a server URL is configured.
 */
export function clickhouseDescription(): { state: string; version: string; address: string } {
  const url = process.env[ENDPOINT_VARIABLES.clickhouseUrl];
  if (url) return { state: 'server', version: '', address: url };
  const { version } = createRequire(import.meta.url)('chdb/package.json') as { version: string };
  return { state: 'embedded', version: `chdb ${version}`, address: 'in process' };
}
