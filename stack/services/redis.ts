import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NATIVE_PORTS } from '../endpoints.ts';
import { serviceDir } from '../paths.ts';
import { requireCommand } from '../prerequisites.ts';
import type { Service } from '../service.ts';
import { startDetached } from '../supervisor.ts';

const home = serviceDir('redis');
const redisHint = 'Install Redis (Debian: apt-get install redis-server).';

function redisCli(...args: string[]): string {
  return execFileSync(
    requireCommand('redis-cli', redisHint),
    ['-h', '127.0.0.1', '-p', String(NATIVE_PORTS.redis), ...args],
    { encoding: 'utf8', timeout: 5_000 },
  ).trim();
}

export const redisService: Service = {
  name: 'redis',
  address: `redis://127.0.0.1:${NATIVE_PORTS.redis}`,
  ports: [NATIVE_PORTS.redis],
  // Redis answers LOADING until its append-only file is read back: a cache of a million items takes ~25 s here.
  readyTimeoutMs: 120_000,

  async provision() {
    requireCommand('redis-server', redisHint);
    mkdirSync(join(home, 'data'), { recursive: true });
  },

  async start() {
    // The append-only file keeps the cache and its stored offsets across a restart of the server.
    return startDetached('redis', requireCommand('redis-server', redisHint), [
      '--bind',
      '127.0.0.1',
      '--port',
      String(NATIVE_PORTS.redis),
      '--dir',
      join(home, 'data'),
      '--appendonly',
      'yes',
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ]);
  },

  async ready() {
    return redisCli('PING') === 'PONG';
  },

  async version() {
    return /redis_version:(\S+)/.exec(redisCli('INFO', 'server'))?.[1] ?? 'unknown';
  },
};
