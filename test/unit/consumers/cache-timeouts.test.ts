import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyError } from '../../../core/errors.ts';
import { CacheSink } from '../../../consumers/cache/cache-sink.ts';
import { silentServer } from '../../harness/silent-server.ts';

const silent = silentServer();

/**
 * A Redis that answers what ioredis sends on connecting (CLIENT SETINFO, then the ready check's INFO) and then
 * nothing more: frozen mid-run, its connections still open.
 */
const stalling = silentServer((socket: Socket) => {
  let ready = false;
  socket.on('data', (chunk: Buffer) => {
    // Each command is `*<n>` and then n arguments, each a `$<length>` line and its text.
    const lines = chunk.toString('utf8').split('\r\n');
    for (let line = 0; line < lines.length && !ready; line++) {
      if (!lines[line]!.startsWith('*')) continue;
      const name = lines[line + 2]?.toUpperCase();
      line += 2 * Number(lines[line]!.slice(1));
      if (name !== 'INFO') socket.write('+OK\r\n');
      else {
        const info = '# Server\r\nredis_version:7.0.15\r\nloading:0\r\n';
        socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
        ready = true;
      }
    }
  });
});
/** A cache sink on the server, whose calls time out after 300 ms, closed after `use`. */
async function withSink(server: { url: string }, use: (sink: CacheSink) => Promise<void>): Promise<void> {
  const sink = new CacheSink({
    group: 'g',
    url: server.url.replace(/^http:/, 'redis:'),
    ttlSeconds: 60,
    keyPrefix: 'item',
    tableOf: () => 'orders',
    commandTimeoutMs: 300,
  });
  try {
    await use(sink);
  } finally {
    await sink.close();
  }
}

/** Fails as retried work does, and soon: without a timeout the call waited for ever. */
async function failsSoonRetried(call: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await assert.rejects(call(), (error: unknown) => {
    assert.equal(classifyError(error), 'retry', (error as Error).message);
    return true;
  });
  assert.ok(performance.now() - started < 10_000, `failed after ${Math.round(performance.now() - started)} ms`);
}

test(
  'a Redis that takes the connection and never answers fails the cache group start and its calls after the command timeout, retried',
  { timeout: 30_000 },
  async () => {
    await withSink(silent, async (sink) => {
      // ioredis's ready check, then every command, got no answer.
      await failsSoonRetried(() => sink.open());
      await failsSoonRetried(() => sink.progress('orders.order', 0));
    });
  },
);

test(
  'a Redis that stops answering on an open connection: the call times out and the next one goes over a new connection',
  { timeout: 30_000 },
  async () => {
    await withSink(stalling, async (sink) => {
      await sink.open();
      assert.equal(stalling.connections, 1);
      await failsSoonRetried(() => sink.progress('orders.order', 0));
      // ioredis kept the silent connection after a timeout, so every retry timed out on it too.
      for (let waited = 0; stalling.connections < 2 && waited < 5_000; waited += 50) await sleep(50);
      assert.equal(stalling.connections, 2, 'connected anew after the timeout');
    });
  },
);
