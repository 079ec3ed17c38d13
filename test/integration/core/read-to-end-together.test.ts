import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka } from '../../../core/kafka.ts';
import { readToEnd } from '../../../core/read-to-end.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

/**
 * The units of a scaled-out connector load their checkpoints at once, in one process. Reads that began in
 * the same millisecond once joined one throwaway group: the topic's one partition went to one of them and
 * the others waited for records that never came.
 */
test('reads to the end begun together in one process each read the whole topic', { timeout: 60_000 }, async (t) => {
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
  const topic = uniqueName('read-together');
  await ensureTopics(kafka, [topic], 1);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: 5 }, (_, index) => ({ key: `k${index}`, value: `v${index}` })),
  });
  await producer.disconnect();
  // The same millisecond for every read, as when they begin together.
  const now = Date.now();
  t.mock.method(Date, 'now', () => now);
  const counts = await Promise.all(
    Array.from({ length: 3 }, async () => {
      let count = 0;
      await readToEnd(
        kafka,
        topic,
        'read-together',
        () => {
          count++;
        },
        { timeoutMs: 10_000 },
      );
      return count;
    }),
  );
  assert.deepEqual(counts, [5, 5, 5]);
});

/** A read that cannot go on (here a record its reader fails on, again each time KafkaJS restarts) ends with an error instead of waiting for ever. */
test('a read to the end that makes no progress gives up after its timeout', { timeout: 60_000 }, async () => {
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
  const topic = uniqueName('read-stuck');
  await ensureTopics(kafka, [topic], 1);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: 'not what the reader expects' }] });
  await producer.disconnect();
  await assert.rejects(
    readToEnd(
      kafka,
      topic,
      'read-stuck',
      () => {
        throw new SyntaxError('unreadable record');
      },
      { timeoutMs: 3_000 },
    ),
    /not read to its end, nothing read for 3 s|unreadable record/,
  );
});
