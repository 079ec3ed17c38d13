import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkBySize } from '../../../connector/kafka-batches.ts';

test('sends are split by size, keep message order, and never split below one message', () => {
  const message = (size: number, id: number) => ({ key: `k${id}`, value: Buffer.alloc(size) });
  const chunks = chunkBySize(
    [
      { topic: 'a', messages: [message(400, 1), message(400, 2), message(400, 3)] },
      { topic: 'b', messages: [message(2000, 4)] },
    ],
    1000,
  );
  assert.deepEqual(
    chunks.map((chunk) => chunk.map(({ topic, messages }) => `${topic}:${messages.map((item) => item.key).join(',')}`)),
    [['a:k1,k2'], ['a:k3'], ['b:k4']],
  );
  assert.deepEqual(chunkBySize([{ topic: 'a', messages: [] }], 1000), []);
});
