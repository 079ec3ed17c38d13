import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '../../../core/kafka.ts';
import { createTopics } from '../../../core/topics.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { idempotentProducer } from '../../harness/producer.ts';

let kafka: Kafka;
let admin: Admin;

before(async () => {
  kafka = createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: 'smoke' });
  admin = kafka.admin();
  await admin.connect();
});
after(async () => admin.disconnect());

async function createTopic(partitions = 1): Promise<string> {
  const topic = uniqueName('smoke');
  await createTopics(admin, [{ topic, numPartitions: partitions }]);
  return topic;
}

/** Reads a topic from the start with a fresh group until `count` messages arrived or the time is up. */
async function readValues(topic: string, count: number, isolation: { readUncommitted: boolean }): Promise<string[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName('reader'),
    readUncommitted: isolation.readUncommitted,
    maxWaitTimeInMs: 200,
  });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 8_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
        if (values.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return values;
}

test('a committed transaction is visible to read_committed, an aborted one is not', async () => {
  const topic = await createTopic();
  const producer = kafka.producer({ transactionalId: uniqueName('txn'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const aborted = await producer.transaction();
  await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted' }] });
  await aborted.abort();
  const committed = await producer.transaction();
  await committed.send({
    topic,
    messages: [
      { key: 'k', value: 'committed-1' },
      { key: 'k', value: 'committed-2' },
    ],
  });
  await committed.commit();
  await producer.disconnect();

  assert.deepEqual(await readValues(topic, 2, { readUncommitted: false }), ['committed-1', 'committed-2']);
  // The aborted record is in the log: a read_uncommitted reader sees it, which proves the filter is real.
  assert.deepEqual(await readValues(topic, 3, { readUncommitted: true }), ['aborted', 'committed-1', 'committed-2']);
});

test('an idempotent producer writes each record once', async () => {
  const topic = await createTopic();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = Array.from({ length: 50 }, (_, index) => `value-${index}`);
  await producer.send({ topic, acks: -1, messages: sent.map((value) => ({ key: 'same-key', value })) });
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets[0]?.high, '50');
  assert.deepEqual(await readValues(topic, 50, { readUncommitted: false }), sent);
});

test('a consumer group commits its offset and a new member resumes after it', async () => {
  const topic = await createTopic();
  const groupId = uniqueName('group');
  const producer = idempotentProducer(kafka);
  await producer.connect();
  await producer.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) });

  const first = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await first.connect();
  await first.subscribe({ topic, fromBeginning: true });
  const firstSeen: string[] = [];
  await new Promise<void>((resolve) => {
    void first.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        firstSeen.push(message.value!.toString());
        await first.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        if (firstSeen.length === 3) resolve();
      },
    });
  });
  await first.disconnect();
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.equal(committed[0]?.partitions[0]?.offset, '3');

  await producer.send({ topic, messages: [{ value: 'd' }] });
  await producer.disconnect();
  const second = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await second.connect();
  await second.subscribe({ topic, fromBeginning: true });
  const secondSeen = await new Promise<string>((resolve) => {
    void second.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) });
  });
  await second.disconnect();
  assert.deepEqual(firstSeen, ['a', 'b', 'c']);
  assert.equal(secondSeen, 'd');
});
