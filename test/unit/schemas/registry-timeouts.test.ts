import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { isUnavailable } from '../../../core/unavailable.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';

/** A server that takes every connection and request and never answers: a registry that stopped. */
const sockets = new Set<Socket>();
const silent = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.resume();
});
let url = '';

before(async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

test('a registry that never answers fails registrations and schema lookups after the request timeout, as unavailable (retried)', async () => {
  const codec = new ChangeEventCodec({ url, requestTimeoutMs: 300 });
  // A registration (its compatibility read first), and the decoding of a value whose schema id is not known
  // yet (the registry client's own request, which had no timeout at all).
  const unknownSchemaId = Buffer.from([0, 0, 0, 0, 42, 0]);
  for (const call of [() => codec.schemaId('orders'), () => codec.decode(unknownSchemaId)]) {
    const started = performance.now();
    await assert.rejects(call(), (error: unknown) => {
      assert.ok(isUnavailable(error), `unavailable: ${(error as Error).message}`);
      return true;
    });
    // Without a timeout the call waited for ever (the test's own timeout would end it).
    assert.ok(performance.now() - started < 10_000, `failed after ${Math.round(performance.now() - started)} ms`);
  }
});
