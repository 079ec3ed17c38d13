import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyError } from '../../../core/errors.ts';
import { CacheSink } from '../../../consumers/cache/cache-sink.ts';
import { silentServer } from '../../harness/silent-server.ts';

const silent = silentServer();

test(
  'a Redis that takes the connection and never answers fails the cache group start and its calls after the command timeout, retried',
  { timeout: 30_000 },
  async () => {
    const sink = new CacheSink({
      group: 'g',
      url: silent.url.replace(/^http:/, 'redis:'),
      ttlSeconds: 60,
      keyPrefix: 'item',
      tableOf: () => 'orders',
      commandTimeoutMs: 300,
    });
    try {
      // Without a timeout both waited for ever: ioredis's ready check, then every command, get no answer.
      for (const call of [() => sink.open(), () => sink.progress('orders.order', 0)]) {
        const started = performance.now();
        await assert.rejects(call(), (error: unknown) => {
          assert.equal(classifyError(error), 'retry', (error as Error).message);
          return true;
        });
        assert.ok(performance.now() - started < 10_000, `failed after ${Math.round(performance.now() - started)} ms`);
      }
    } finally {
      await sink.close();
    }
  },
);
