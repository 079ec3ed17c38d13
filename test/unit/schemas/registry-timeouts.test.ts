import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentServer } from '../../harness/silent-server.ts';
import { isUnavailable } from '../../../core/unavailable.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';

const silent = silentServer();

test('a registry that never answers fails registrations and schema lookups after the request timeout, as unavailable (retried)', async () => {
  const codec = new ChangeEventCodec({ url: silent.url, requestTimeoutMs: 300 });
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
