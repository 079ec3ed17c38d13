import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka } from '../../../core/kafka.ts';
import { readToEnd } from '../../../core/read-to-end.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { transactionalProducer } from '../../harness/producer.ts';

/**
 * A producer that died mid-transaction leaves it open until the broker's transaction timeout. The end of
 * what is committed is the last stable offset, before that transaction: KafkaJS's admin lists it (its
 * ListOffsets defaults to READ_COMMITTED), and a read to the end (checkpoints, `status`) returns what was
 * committed at once instead of waiting a minute for the broker to abort the transaction.
 */
test(
  'a transaction left open holds neither the listed end of a topic nor a read to it',
  { timeout: 60_000 },
  async () => {
    const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
    const topic = uniqueName('open-transaction');
    await ensureTopics(kafka, [topic], 1);
    const [committing, leaving] = await Promise.all([
      transactionalProducer(kafka, 'committing'),
      transactionalProducer(kafka, 'leaving-open'),
    ]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = await committing.transaction();
      await committed.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) });
      await committed.commit();
      const open = await leaving.transaction();
      await open.send({ topic, messages: [{ value: 'open-1' }, { value: 'open-2' }] });

      const [end] = await admin.fetchTopicOffsets(topic);
      // a, b and c at 0-2, their commit marker at 3: the open transaction begins at 4, and ends the stable part.
      assert.equal(end?.offset, '4', 'the listed end is the last stable offset');

      const read: string[] = [];
      // It ends at the listed end: it does not wait for the open transaction, and fails if it must (15 s without a record).
      await readToEnd(
        kafka,
        topic,
        uniqueName('open-transaction-read'),
        (_, message) => {
          read.push(String(message.value));
        },
        { timeoutMs: 15_000 },
      );
      assert.deepEqual(read, ['a', 'b', 'c']);
      await open.abort();
    } finally {
      await admin.disconnect();
      await Promise.all([committing.disconnect(), leaving.disconnect()]);
    }
  },
);
