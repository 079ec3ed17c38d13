import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { RecordMetadata } from 'kafkajs';
import { checkEveryPartitionAnswered, murmur2, UnansweredPartitions } from '../../../core/partitioned-send.ts';

const answer = (topicName: string, partition: number, errorCode = 0): RecordMetadata => ({
  topicName,
  partition,
  errorCode,
  baseOffset: '0',
});

test('a send answered for every partition it addressed passes', () => {
  const sent = [
    {
      topic: 'orders',
      messages: [
        { key: 'a', value: 'x', partition: 0 },
        { key: 'b', value: 'y', partition: 2 },
      ],
    },
    { topic: 'checkpoints', messages: [{ key: 'c', value: '{}', partition: 0 }] },
  ];
  checkEveryPartitionAnswered(sent, [answer('orders', 0), answer('orders', 2), answer('checkpoints', 0)]);
});

test("the answers KafkaJS gave when a leader died mid-send (the surviving broker's earlier answer only) are refused, naming the partition", () => {
  // Attempt 1: broker 2 answered for checkpoints:0 and orders:1, broker 3 (leader of orders:0) died.
  // Attempt 2: orders:0 moved to broker 2, which had answered already, so nothing was sent for it.
  const sent = [
    {
      topic: 'orders',
      messages: [
        { key: 'a', value: 'x', partition: 0 },
        { key: 'b', value: 'y', partition: 1 },
      ],
    },
    { topic: 'checkpoints', messages: [{ key: 'c', value: '{}', partition: 0 }] },
  ];
  assert.throws(
    () => checkEveryPartitionAnswered(sent, [answer('checkpoints', 0), answer('orders', 1)]),
    (error: unknown) => error instanceof UnansweredPartitions && error.partitions.join() === 'orders:0',
  );
});

test('an answer carrying an error code does not count as written', () => {
  const sent = [{ topic: 'orders', messages: [{ key: 'a', value: 'x', partition: 0 }] }];
  assert.throws(() => checkEveryPartitionAnswered(sent, [answer('orders', 0, 6)]), UnansweredPartitions);
});

test("murmur2 gives the hash KafkaJS's default partitioner computes, for any key (UTF-8, every length remainder, long keys, buffers)", () => {
  const kafkaJsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
    key: string | Buffer,
  ) => number;
  const keys: (string | Buffer)[] = [
    '',
    'a',
    'ab',
    'abc',
    'abcd',
    'PK=S:ORDER#12345',
    'ünïcödé ✓ 𝄞',
    'x'.repeat(1365),
    'y'.repeat(1366),
    'é'.repeat(3000),
    Buffer.from([0xff, 0x80, 0x00, 0x7f, 0xfe]),
  ];
  for (let index = 0; index < 2000; index++)
    keys.push(randomBytes(index % 37).toString(index % 2 ? 'latin1' : 'base64'));
  for (const key of keys) assert.equal(murmur2(key), kafkaJsMurmur2(key), JSON.stringify(key).slice(0, 60));
});
