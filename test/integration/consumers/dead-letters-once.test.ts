import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FatalError } from '../../../core/errors.ts';
import { createKafka } from '../../../core/kafka.ts';
import { readToEnd } from '../../../core/read-to-end.ts';
import { ensureTopics } from '../../../core/topics.ts';
import type { Sink, SinkBatch } from '../../../consumers/runtime/sink.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { testGroup } from '../../harness/consumers.ts';

/**
 * A sink whose store is a map the test keeps across members (its progress survives a crash, as a real
 * store's does). The first member's store refuses every batch for good, after the runtime has written
 * the batch's dead letters: the group stops between its letters and its progress, as a crash there would.
 */
class ProgressOnlySink implements Sink {
  readonly name = 'progress-only';
  constructor(
    private readonly store: Map<string, string>,
    private readonly refuse: boolean,
  ) {}
  async open(): Promise<void> {}
  async progress(topic: string, partition: number): Promise<string | undefined> {
    return this.store.get(`${topic}:${partition}`);
  }
  async apply(batch: SinkBatch): Promise<void> {
    if (this.refuse) throw new FatalError('the store refuses this member');
    this.store.set(`${batch.topic}:${batch.partition}`, batch.nextOffset);
  }
  async close(): Promise<void> {}
}

test(
  'a record dead-lettered before a crash is not dead-lettered again by the member that replays it',
  { timeout: 120_000 },
  async () => {
    const prefix = uniqueName('dlq-once');
    const topic = `${prefix}.orders.order`;
    const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: prefix });
    await ensureTopics(kafka, [topic, `${prefix}.dlq`], 3);
    // Idempotent: a retried send must not add copies, the test counts the records it wrote.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Bytes that are not a change event, in every partition, between ordinary (empty) records.
    await producer.send({
      topic,
      messages: Array.from({ length: 30 }, (_, index) => ({
        key: `k${index}`,
        value: index % 3 === 0 ? Buffer.from(`not avro ${index}`) : null,
      })),
    });
    await producer.disconnect();
    const ends = await (async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return await admin.fetchTopicOffsets(topic);
      } finally {
        await admin.disconnect();
      }
    })();

    const store = new Map<string, string>();
    const first = testGroup(prefix, 'sink', [topic], new ProgressOnlySink(store, true));
    await first.start();
    await assert.rejects(first.failed, /refuses this member/);
    await first.stop();
    assert.equal(store.size, 0, 'the first member stored no progress');

    const second = testGroup(prefix, 'sink', [topic], new ProgressOnlySink(store, false));
    await second.start();
    const deadline = Date.now() + 60_000;
    while (!ends.every(({ partition, offset }) => store.get(`${topic}:${partition}`) === offset)) {
      assert.ok(
        Date.now() < deadline,
        `the second member applies every partition to its end (store: ${JSON.stringify([...store])})`,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await second.stop();

    const letters = new Map<string, number>();
    await readToEnd(kafka, `${prefix}.dlq`, uniqueName('check'), (_partition, message) => {
      const position = `${message.headers!.shardline_dlq_shard!.toString()}:${message.headers!.shardline_dlq_position!.toString()}`;
      letters.set(position, (letters.get(position) ?? 0) + 1);
    });
    // What the topic holds that is not a change event, read back: the positions that must have a letter each.
    const garbage = new Set<string>();
    await readToEnd(kafka, topic, uniqueName('check'), (partition, message) => {
      if (message.value !== null) garbage.add(`${partition}:${message.offset}`);
    });
    assert.equal(garbage.size, 10);
    assert.deepEqual(
      new Set(letters.keys()),
      garbage,
      `every record that is not a change event has a letter (${JSON.stringify([...letters])})`,
    );
    assert.deepEqual(
      [...letters].filter(([, count]) => count !== 1),
      [],
      'each has exactly one',
    );
  },
);
