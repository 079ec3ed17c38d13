import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics } from '../../../core/topics.ts';
import type { Sink, SinkBatch } from '../../../consumers/runtime/sink.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { eventually, testGroup } from '../../harness/consumers.ts';
import { idempotentProducer } from '../../harness/producer.ts';

/** A sink whose store is a map; it records the partitions it applied and those the runtime released. */
class RecordingSink implements Sink {
  readonly name = 'recording';
  readonly applied = new Set<number>();
  readonly released: number[] = [];
  constructor(private readonly store: Map<string, string>) {}
  async open(): Promise<void> {}
  async progress(topic: string, partition: number): Promise<string | undefined> {
    return this.store.get(`${topic}:${partition}`);
  }
  async apply(batch: SinkBatch): Promise<void> {
    this.applied.add(batch.partition);
    this.store.set(`${batch.topic}:${batch.partition}`, batch.nextOffset);
  }
  release(partitions: { topic: string; partition: number }[]): void {
    this.released.push(...partitions.map(({ partition }) => partition));
  }
  async close(): Promise<void> {}
}

test(
  'partitions revoked from a member are released to its sink, which may then free what it keeps of them',
  { timeout: 120_000 },
  async (t) => {
    const prefix = uniqueName('release');
    const topic = `${prefix}.orders.order`;
    const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: prefix });
    await ensureTopics(kafka, [topic, `${prefix}.dlq`], 2);
    const producer = idempotentProducer(kafka);
    await producer.connect();
    t.after(() => producer.disconnect());
    // Empty records (no change event) in both partitions: a member applies a batch of each partition it owns.
    const produce = () =>
      producer.send({ topic, messages: [0, 1].map((partition) => ({ partition, key: `k${partition}`, value: null })) });
    await produce();

    const store = new Map<string, string>();
    const [firstSink, secondSink] = [new RecordingSink(store), new RecordingSink(store)];
    const first = testGroup(prefix, 'sink', [topic], firstSink);
    await first.start();
    t.after(() => first.stop());
    await eventually(async () => [...firstSink.applied].sort(), [0, 1]);
    assert.deepEqual(firstSink.released, [], 'nothing is released while the member keeps its partitions');

    // A second member joins: one partition moves to it, and the first member's sink hears which.
    const second = testGroup(prefix, 'sink', [topic], secondSink);
    await second.start();
    t.after(() => second.stop());
    const released = await eventually(async () => firstSink.released.length, 1);
    assert.equal(released, 1, `one partition released (released: ${JSON.stringify(firstSink.released)})`);
    await produce();
    assert.deepEqual(
      await eventually(async () => [...secondSink.applied], firstSink.released),
      firstSink.released,
      'the released partition is the one the second member applies',
    );

    // The second member leaves: its partition comes back to the first member, which releases nothing.
    await second.stop();
    firstSink.applied.clear();
    await produce();
    assert.deepEqual(await eventually(async () => [...firstSink.applied].sort(), [0, 1]), [0, 1]);
    assert.equal(firstSink.released.length, 1);
  },
);
