import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics } from '../../../core/topics.ts';
import type { Sink, SinkBatch } from '../../../consumers/runtime/sink.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { orderEvents } from '../../../bench/orders.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { testGroup } from '../../harness/consumers.ts';
import { idempotentProducer } from '../../harness/producer.ts';

const PARTITIONS = 2;

/** A store both members share (progress per partition) and a log of which member applied which batch. */
class SharedStore {
  readonly progress = new Map<string, string>();
  readonly applied: { member: string; partition: number; at: number }[] = [];
}

/**
 * A sink whose next apply, once armed, outlasts the session and then fails as an unreachable store does: its
 * member, evicted meanwhile, finds out through the heartbeat the runtime sends before retrying.
 */
class RecordingSink implements Sink {
  readonly name = 'recording';
  private stallMs = 0;

  constructor(
    private readonly store: SharedStore,
    private readonly member: string,
  ) {}

  stallNext(ms: number): void {
    this.stallMs = ms;
  }

  async open(): Promise<void> {}

  async progress(topic: string, partition: number): Promise<string | undefined> {
    return this.store.progress.get(`${topic}:${partition}`);
  }

  async apply(batch: SinkBatch): Promise<void> {
    if (this.stallMs > 0) {
      const stallMs = this.stallMs;
      this.stallMs = 0;
      await sleep(stallMs);
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    }
    this.store.applied.push({ member: this.member, partition: batch.partition, at: Date.now() });
    this.store.progress.set(`${batch.topic}:${batch.partition}`, batch.nextOffset);
  }

  async close(): Promise<void> {}
}

test('a member evicted while a batch was in flight applies nothing more of its old assignment', async (t) => {
  const prefix = uniqueName('evicted');
  const topic = `${prefix}.orders`;
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: prefix });
  await ensureTopics(kafka, [topic], PARTITIONS);
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const producer = idempotentProducer(kafka);
  await producer.connect();
  t.after(() => producer.disconnect());
  let written = 0;
  // Records in every partition in one request, so that one fetch brings a batch of each.
  const writeRound = async () => {
    const messages = await Promise.all(
      orderEvents(50 * PARTITIONS, written).map(async ({ key, event }, index) => ({
        key,
        value: await codec.encode(topic, event),
        partition: index % PARTITIONS,
      })),
    );
    written += messages.length;
    await producer.send({ topic, messages });
  };
  const appliedBy = (member: string) => store.applied.filter((applied) => applied.member === member);
  const waitFor = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 60_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };

  const store = new SharedStore();
  const firstSink = new RecordingSink(store, 'first');
  const first = testGroup(prefix, 'g', [topic], firstSink);
  const second = testGroup(prefix, 'g', [topic], new RecordingSink(store, 'second'));
  t.after(async () => {
    await first.stop().catch(() => undefined);
    await second.stop().catch(() => undefined);
  });
  await writeRound();
  await first.start();
  await waitFor(
    () => new Set(appliedBy('first').map(({ partition }) => partition)).size === PARTITIONS,
    'the first member to apply every partition',
  );
  const before = appliedBy('first').length;

  // The next batch stalls the first member past its session (KafkaJS beats only between calls); the second
  // joins meanwhile, the rebalance waits the first member out and gives the second every partition.
  firstSink.stallNext(15_000);
  await writeRound();
  const stalledSince = Date.now();
  await sleep(1_000);
  await second.start();
  await waitFor(
    () =>
      Date.now() - stalledSince > 20_000 &&
      new Set(appliedBy('second').map(({ partition }) => partition)).size === PARTITIONS,
    'the second member to take over',
  );

  // The batch the first member had fetched besides the stalled one is the second's now: written by both, a
  // rollup would count it twice.
  assert.deepEqual(
    appliedBy('first').slice(before),
    [],
    'the evicted member applied a batch after it lost the partitions',
  );
});
