import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { transactionalProducer } from '../../harness/producer.ts';
import type { Producer } from 'kafkajs';

/**
 * Found by the scale-out SIGKILL test: a change read twice by a read_committed KafkaJS consumer, once from a
 * transaction the Java console consumer (read_committed) does not show. KafkaJS enters one aborted transaction
 * per message it filters: when a fetch begins inside two aborted transactions of two producers, the first
 * record of the second one is handed over. Units of a scaled-out connector abort transactions side by side on
 * the one checkpoint partition (fenced rounds, barriers), and a checkpoint load that took an aborted position
 * would skip changes.
 */
test(
  'read_committed: a fetch that begins inside aborted transactions of two producers hands over none of their records',
  { timeout: 60_000 },
  async () => {
    const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
    const topic = uniqueName('aborted');
    await ensureTopics(kafka, [topic], 1);
    const producers = await Promise.all(
      ['first', 'second'].map((name) => transactionalProducer(kafka, `aborted-${name}`)),
    );
    const [first, second] = producers as [Producer, Producer];
    // Offsets 0 (first), 1 and 2 (second), both aborted; then 5, committed.
    const aborting = [await first.transaction(), await second.transaction()] as const;
    await aborting[0].send({ topic, messages: [{ value: 'aborted-0' }] });
    await aborting[1].send({ topic, messages: [{ value: 'aborted-1' }] });
    await aborting[1].send({ topic, messages: [{ value: 'aborted-2' }] });
    await aborting[0].abort();
    await aborting[1].abort();
    const committing = await first.transaction();
    await committing.send({ topic, messages: [{ value: 'committed' }] });
    await committing.commit();
    await Promise.all(producers.map((producer) => producer.disconnect()));

    const consumer = kafka.consumer({
      groupId: uniqueName('aborted-reader'),
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const read: string[] = [];
    const committed = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          read.push(message.value!.toString());
          if (message.value!.toString() === 'committed') resolve();
        },
      });
    });
    // The fetch begins at offset 2: inside the first producer's aborted transaction (from 0) and the second's (from 1).
    consumer.seek({ topic, partition: 0, offset: '2' });
    await committed;
    await consumer.disconnect();
    assert.deepEqual(read, ['committed']);
  },
);
