import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUnavailable } from '../../../core/unavailable.ts';
import { ChangeEventCodec, isRegistryRefusal } from '../../../schemas/registry.ts';

test("registry answers: a server that does not answer is retried, a refusal of the caller fails the batch, an unknown schema id is the record's fault", () => {
  const answer = (status: number) => Object.assign(new Error(`status ${status}`), { status });
  for (const status of [500, 502, 503, 429]) assert.ok(isUnavailable(answer(status)), `${status} is unavailable`);
  assert.ok(isUnavailable(new DOMException('The operation was aborted due to timeout', 'TimeoutError')));
  for (const status of [400, 401, 403, 409, 422])
    assert.ok(isRegistryRefusal(answer(status)), `${status} is a refusal`);
  for (const status of [404, 429, 500]) assert.ok(!isRegistryRefusal(answer(status)), `${status} is not a refusal`);
  assert.ok(!isRegistryRefusal(new SyntaxError('invalid Avro')));
  // The client library reports a registry that does not answer as a 400 with the socket error.
  assert.ok(
    !isRegistryRefusal(
      Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 127.0.0.1:8081'), {
        status: 400,
      }),
    ),
  );
});

test('a registry that cannot be reached while a schema is fetched by id is unavailable (retried), not a refusal that stops the group', async () => {
  // The client library reports a refused connection as a response with status 400; nothing listens here.
  const codec = new ChangeEventCodec({ url: 'http://127.0.0.1:9/apis/ccompat/v7' });
  const wire = Buffer.from([0, 0, 0, 0, 1, 0]);
  const error = await codec.decode(wire).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  assert.ok(error, 'decoding failed');
  assert.ok(isUnavailable(error), `unavailable: ${String(error)}`);
  assert.ok(!isRegistryRefusal(error), `not a refusal: ${String(error)}`);
});
