import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka } from '../../../core/kafka.ts';
import { PartitionedSends } from '../../../core/partitioned-send.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { readTopics } from '../../harness/topic-reader.ts';
import { idempotentProducer } from '../../harness/producer.ts';

test("partitions assigned before a send are the ones KafkaJS's producer chooses for the same keys (an item keeps its partition across the upgrade)", async () => {
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: 'partition-assignment' });
  const topic = uniqueName('assignment');
  await ensureTopics(kafka, [topic], 5);
  const keys = Array.from({ length: 200 }, (_, index) => `PK=S:ORDER#${index}|SK=S:ORDER#${index}`);
  const producer = idempotentProducer(kafka);
  await producer.connect();
  await producer.send({ topic, messages: keys.map((key) => ({ key, value: key })) });
  await producer.disconnect();
  const chosenByProducer = new Map(
    (
      await readTopics(
        kafka,
        [topic],
        (messages) => new Set(messages.map(({ message }) => message.key!.toString())).size >= keys.length,
        30_000,
      )
    ).map(({ partition, message }) => [message.key!.toString(), partition]),
  );

  const [assigned] = await new PartitionedSends(kafka).assign([
    { topic, messages: keys.map((key) => ({ key, value: key })) },
  ]);
  assert.equal(new Set(chosenByProducer.values()).size, 5, 'the keys spread over every partition');
  assert.deepEqual(new Map(assigned!.messages.map(({ key, partition }) => [String(key), partition])), chosenByProducer);
});
