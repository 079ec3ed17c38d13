import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { waitForCaughtUp } from '../../../core/lag.ts';
import { RecordError } from '../../../core/errors.ts';
import type { Sink, SinkBatch } from '../../../consumers/runtime/sink.ts';
import { groupMetrics } from '../../../consumers/runtime/metrics.ts';
import { testGroup } from '../../harness/consumers.ts';
import { startOrdersPipeline } from '../../harness/orders-pipeline.ts';
import { readTopics } from '../../harness/topic-reader.ts';

/**
 * A sink that keeps what it applied in memory and fails as told: the runtime's handling of each error
 * class is what is under test here, the stores' own refusals are tested with each sink.
 */
class ScriptedSink implements Sink {
  readonly name = 'scripted';
  readonly applied = new Map<string, string>();
  private readonly positions = new Map<string, string>();
  failure: ((batch: SinkBatch) => Error | undefined) | undefined;
  async open(): Promise<void> {}
  async progress(topic: string, partition: number): Promise<string | undefined> {
    return this.positions.get(`${topic}:${partition}`);
  }
  async apply(batch: SinkBatch): Promise<void> {
    const error = this.failure?.(batch);
    if (error) throw error;
    for (const record of batch.records) this.applied.set(`${batch.partition}:${record.offset}`, record.key);
    this.positions.set(`${batch.topic}:${batch.partition}`, batch.nextOffset);
  }
  async close(): Promise<void> {}
}

async function withGroup(name: string, sink: ScriptedSink, options: { stuckAfterMs?: number } = {}) {
  const pipeline = await startOrdersPipeline(name, 5);
  for (let step = 0; step < 60; step++) await pipeline.workload.step();
  return { pipeline, group: testGroup(pipeline.prefix, 'scripted', [pipeline.topic], sink, options) };
}

test('a programming error in a sink stops the group with the cause instead of being retried for ever', async (t) => {
  const sink = new ScriptedSink();
  sink.failure = () => new TypeError("Cannot read properties of undefined (reading 'total')");
  const { pipeline, group } = await withGroup('fatal', sink);
  t.after(async () => {
    await group.stop();
    await pipeline.stop();
  });
  await group.start();
  const outcome = await Promise.race([
    group.failed.then(
      () => 'resolved',
      (error: Error) => error,
    ),
    sleep(30_000).then(() => 'still retrying'),
  ]);
  assert.ok(outcome instanceof Error, `expected the group to stop, got: ${String(outcome)}`);
  assert.match(outcome.message, /TypeError: Cannot read properties of undefined \(reading 'total'\)/);
  assert.equal(group.health().ready, false);
  assert.equal(sink.applied.size, 0);
});

test('a record the store refuses is found by halving the batch and dead-lettered with the reason; every other record is applied once', async (t) => {
  const sink = new ScriptedSink();
  let poisonKey: string | undefined;
  sink.failure = (batch) => {
    poisonKey ??= batch.records[Math.floor(batch.records.length / 2)]?.key;
    return batch.records.some((record) => record.key === poisonKey && record.event?.op === 'INSERT')
      ? new RecordError('value out of range for Decimal(38, 2)')
      : undefined;
  };
  const { pipeline, group } = await withGroup('record', sink);
  t.after(async () => {
    await group.stop();
    await pipeline.stop();
  });
  await group.start();
  await sleep(1_000);
  await waitForCaughtUp(pipeline.options.kafka, [`${pipeline.prefix}-scripted`], pipeline.topic, 60_000);
  const all = await readTopics(pipeline.options.kafka, [pipeline.topic], () => false, 3_000);
  const dead = await readTopics(pipeline.options.kafka, [pipeline.options.topics.deadLetter], () => false, 3_000);
  assert.equal(dead.length, 1, 'exactly the refused record is dead-lettered');
  assert.match(
    dead[0]!.message.headers!.shardline_dlq_reason!.toString(),
    /refused by the store: RecordError: value out of range/,
  );
  const deadOffset = dead[0]!.message.headers!.shardline_dlq_position!.toString();
  const expected = all.filter(
    ({ partition, message }) =>
      `${partition}:${message.offset}` !== `${dead[0]!.message.headers!.shardline_dlq_shard!.toString()}:${deadOffset}`,
  );
  assert.equal(sink.applied.size, expected.length);
  for (const { partition, message } of expected)
    assert.ok(sink.applied.has(`${partition}:${message.offset}`), `record ${partition}:${message.offset} applied`);
});

test('a store down longer than the configured time makes the group not ready until it is back; nothing is lost', async (t) => {
  const sink = new ScriptedSink();
  let down = true;
  sink.failure = () =>
    down ? Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) : undefined;
  const { pipeline, group } = await withGroup('stuck', sink, { stuckAfterMs: 1_500 });
  t.after(async () => {
    await group.stop();
    await pipeline.stop();
  });
  await group.start();
  const deadline = Date.now() + 20_000;
  while (group.health().ready && Date.now() < deadline) await sleep(200);
  assert.equal(group.health().ready, false);
  assert.match(group.health().detail ?? '', /failing for \d+ s: .*ECONNREFUSED/);
  down = false;
  await waitForCaughtUp(pipeline.options.kafka, [`${pipeline.prefix}-scripted`], pipeline.topic, 60_000);
  assert.equal(group.health().ready, true);
  const all = await readTopics(pipeline.options.kafka, [pipeline.topic], () => false, 3_000);
  assert.equal(sink.applied.size, all.length);
});

test('records deleted by retention before the group applied them are reported as a gap, not skipped silently', async (t) => {
  const sink = new ScriptedSink();
  const { pipeline, group } = await withGroup('retained', sink);
  const restarted = testGroup(pipeline.prefix, 'scripted', [pipeline.topic], sink);
  t.after(async () => {
    await group.stop();
    await restarted.stop();
    await pipeline.stop();
  });
  await group.start();
  await sleep(1_000);
  await waitForCaughtUp(pipeline.options.kafka, [`${pipeline.prefix}-scripted`], pipeline.topic, 60_000);
  await group.stop();
  // While the group is away, more changes arrive and retention deletes all of them before it reads them.
  for (let step = 0; step < 40; step++) await pipeline.workload.step();
  await sleep(1_000);
  const admin = pipeline.options.kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(pipeline.topic);
  await admin.deleteTopicRecords({
    topic: pipeline.topic,
    partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
  });
  await admin.disconnect();
  const gapsBefore = await counterTotal(groupMetrics.gaps);
  await restarted.start();
  for (let step = 0; step < 20; step++) await pipeline.workload.step(); // the next records show the gap
  const until = Date.now() + 30_000;
  while ((await counterTotal(groupMetrics.gaps)) === gapsBefore && Date.now() < until) await sleep(200);
  assert.ok(
    (await counterTotal(groupMetrics.gaps)) > gapsBefore,
    'shardline_consumer_gaps_total counts the partitions that lost records',
  );
});

async function counterTotal(counter: typeof groupMetrics.gaps): Promise<number> {
  return (await counter.get()).values.reduce((sum, { value }) => sum + value, 0);
}

test('a store call that hangs makes the group not ready until it returns', async (t) => {
  const sink = new ScriptedSink();
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const apply = sink.apply.bind(sink);
  sink.apply = async (batch) => {
    await gate;
    return apply(batch);
  };
  const { pipeline, group } = await withGroup('hang', sink, { stuckAfterMs: 1_500 });
  t.after(async () => {
    release();
    await group.stop();
    await pipeline.stop();
  });
  await group.start();
  const until = Date.now() + 20_000;
  while (group.health().ready && Date.now() < until) await sleep(200);
  assert.match(group.health().detail ?? '', /a call to scripted has been running for \d+ s/);
  release();
  await waitForCaughtUp(pipeline.options.kafka, [`${pipeline.prefix}-scripted`], pipeline.topic, 60_000);
  assert.equal(group.health().ready, true);
});
