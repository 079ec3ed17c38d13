import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { waitForCaughtUp } from '../../../core/lag.ts';
import type { Sink, SinkBatch } from '../../../consumers/runtime/sink.ts';
import { testGroup } from '../../harness/consumers.ts';
import { startOrdersPipeline } from '../../harness/orders-pipeline.ts';
import { readTopics } from '../../harness/topic-reader.ts';

async function topicSettled(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const total = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, { offset }) => sum + Number(offset), 0);
  let [previous, current] = [-1, await total()];
  while (current === 0 || current !== previous) {
    await sleep(1_500);
    [previous, current] = [current, await total()];
  }
  await admin.disconnect();
}

/** One store shared by the members of a group, in memory: it notes a partition written by two members at once. */
class SharedStore {
  readonly applied = new Map<string, number>();
  private readonly positions = new Map<string, string>();
  private readonly writing = new Map<number, string>();
  overlaps = 0;
  blocked = 0;
  private openGate: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.openGate = resolve));
  gateClosedFor: string | undefined;

  open(): void {
    this.gateClosedFor = undefined;
    this.openGate();
  }

  member(name: string): Sink {
    return {
      name: 'shared',
      open: async () => undefined,
      close: async () => undefined,
      progress: async (topic, partition) => this.positions.get(`${topic}:${partition}`),
      apply: (batch) => this.apply(name, batch),
    };
  }

  private async apply(member: string, batch: SinkBatch): Promise<void> {
    if (this.writing.has(batch.partition)) this.overlaps++;
    this.writing.set(batch.partition, member);
    try {
      if (this.gateClosedFor === member) {
        this.blocked++;
        await this.gate;
      }
      // Records below the stored progress are applied already: what an idempotent store would skip.
      const stored = BigInt(this.positions.get(`${batch.topic}:${batch.partition}`) ?? '0');
      for (const record of batch.records.filter((record) => BigInt(record.offset) >= stored)) {
        const key = `${batch.partition}:${record.offset}`;
        this.applied.set(key, (this.applied.get(key) ?? 0) + 1);
      }
      this.positions.set(`${batch.topic}:${batch.partition}`, batch.nextOffset);
    } finally {
      this.writing.delete(batch.partition);
    }
  }
}

test('a member rejoins only once its writes in flight have landed: no partition is written by two members at once', async (t) => {
  const pipeline = await startOrdersPipeline('inflight', 23);
  for (let step = 0; step < 90; step++) await pipeline.workload.step();
  // Every change in Kafka before the group starts: a batch fetched later would wait inside KafkaJS's handler for
  // the held write of its partition, and hold the rejoin there, whatever the barrier does.
  await topicSettled(pipeline.options.kafka, pipeline.topic);
  const store = new SharedStore();
  store.gateClosedFor = 'first';
  const options = { partitionsConsumedConcurrently: 3, batchSize: 50 };
  const first = testGroup(pipeline.prefix, 'shared', [pipeline.topic], store.member('first'), options);
  const second = testGroup(pipeline.prefix, 'shared', [pipeline.topic], store.member('second'), options);
  t.after(async () => {
    store.open();
    await first.stop();
    await second.stop();
    await pipeline.stop();
  });
  await first.start();
  // A write of each partition held by the store, each handed back to KafkaJS while in flight.
  const deadline = Date.now() + 30_000;
  while (store.blocked < 3 && Date.now() < deadline) await sleep(50);
  assert.equal(store.blocked, 3, 'the first member has a write of every partition in flight');
  // The second member's join rebalances the group while those writes are held (for less than the rebalance
  // timeout); its start returns once the rebalance is done.
  const secondStarted = second.start();
  await sleep(3_000);
  store.open();
  await secondStarted;
  await waitForCaughtUp(pipeline.options.kafka, [`${pipeline.prefix}-shared`], pipeline.topic, 60_000);
  assert.equal(store.overlaps, 0, 'no partition was written by both members at once');
  const all = await readTopics(pipeline.options.kafka, [pipeline.topic], () => false, 3_000);
  assert.equal(store.applied.size, all.length);
  for (const [key, times] of store.applied) assert.equal(times, 1, `record ${key} applied once`);
});
