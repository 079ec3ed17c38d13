import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, PartitionMetadata } from 'kafkajs';
import { groupMessagesPerPartition } from '../../../core/kafkajs-grouping.ts';
import { originalKafkaJsModule } from '../../../core/kafkajs-internals.ts';
import { runModuleScript } from '../../harness/processes.ts';

type Grouping = typeof groupMessagesPerPartition;
const GROUPING_MODULE = 'kafkajs/src/producer/groupMessagesPerPartition.js';

const metadata = (partitions: number): PartitionMetadata[] =>
  Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));

test('messages are grouped by partition as KafkaJS groups them, in order, also with no partition metadata', () => {
  const original = originalKafkaJsModule<Grouping>(GROUPING_MODULE);
  assert.notEqual(original, groupMessagesPerPartition);
  for (const [partitions, count] of [
    [0, 5],
    [1, 0],
    [1, 300],
    [3, 1000],
    [12, 257],
  ] as const) {
    const messages: Message[] = Array.from({ length: count }, (_, index) => ({
      key: `key-${(index * 7919) % 101}`,
      value: String(index),
      ...(index % 5 === 0 && { partition: index % Math.max(partitions, 1) }),
    }));
    // Deterministic, and sensitive to the message: a partitioner of the pre-assigned and the keyed.
    const partitioner = ({ message }: { message: Message }) =>
      message.partition ?? Number(String(message.key).slice(4)) % partitions;
    const input = { topic: 't', partitionMetadata: metadata(partitions), messages, partitioner };
    const expected = original(input);
    const actual = groupMessagesPerPartition(input);
    assert.deepEqual(actual, expected, `${partitions} partitions, ${count} messages`);
    assert.deepEqual(Object.keys(actual), Object.keys(expected));
  }
});

test('the one-pass grouping is installed whichever Shardline module loads KafkaJS first', () => {
  // The stack's Kafka service is loaded by `npm run bench` and the stack commands before anything else of Kafka.
  for (const first of ['./stack/services/kafka.ts', './connector/scale-out/unit-assigner.ts', './core/topics.ts']) {
    const check = runModuleScript(
      `await import(${JSON.stringify(first)});
       const { linearGroupingInstalled } = await import('./core/kafkajs-grouping.ts');
       console.log(JSON.stringify({ linearGroupingInstalled }));`,
    );
    assert.equal(check.status, 0, check.stderr);
    assert.deepEqual(JSON.parse(check.stdout.trim().split('\n').at(-1)!), { linearGroupingInstalled: true }, first);
  }
});
