import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { backoffDelay } from '../../../core/backoff.ts';
import { planShards } from '../../../connector/shards/lineage.ts';
import { GapError, ShardReader, type PollingPolicy } from '../../../connector/shards/shard-reader.ts';
import { DedupeWindow } from '../../../connector/shards/dedupe.ts';
import { SimulatedStream, simulatedRecords } from '../../harness/simulated-streams.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-01-01T00:00:00.000';
const policy: PollingPolicy = {
  idleMinMs: 10,
  idleMaxMs: 40,
  recordsPerRead: 5,
  recordsPerRound: 5,
  backoff: { baseMs: 1, maxMs: 5, attempts: 6 },
};
const sourceOf = (stream: SimulatedStream) =>
  new DynamoDbStreamSource(stream.client(), {
    table: 'orders',
    streamArn: ARN,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });

test('children of a split wait until their parent is finished', () => {
  const shards = [
    { shardId: 'parent', parentShardIds: [], closed: true },
    { shardId: 'left', parentShardIds: ['parent'], closed: false },
    { shardId: 'right', parentShardIds: ['parent'], closed: false },
  ];
  assert.deepEqual(
    planShards(shards, { finished: new Set(), started: new Set() }).readable.map((shard) => shard.shardId),
    ['parent'],
  );
  assert.deepEqual(
    planShards(shards, { finished: new Set(['parent']), started: new Set(['parent']) }).readable.map(
      (shard) => shard.shardId,
    ),
    ['left', 'right'],
  );
});

test('a Kinesis merge waits for both parents', () => {
  const shards = [
    { shardId: 'a', parentShardIds: [], closed: true },
    { shardId: 'b', parentShardIds: [], closed: true },
    { shardId: 'merged', parentShardIds: ['a', 'b'], closed: false },
  ];
  assert.deepEqual(
    planShards(shards, { finished: new Set(['a']), started: new Set(['a', 'b']) }).readable.map(
      (shard) => shard.shardId,
    ),
    ['b'],
  );
  assert.deepEqual(
    planShards(shards, { finished: new Set(['a', 'b']), started: new Set(['a', 'b']) }).readable.map(
      (shard) => shard.shardId,
    ),
    ['merged'],
  );
});

test('a parent that vanished mid-read is a gap; one trimmed before it was ever read is not', () => {
  const shards = [{ shardId: 'child', parentShardIds: ['gone'], closed: false }];
  const midRead = planShards(shards, { finished: new Set(), started: new Set(['gone']) });
  assert.deepEqual(midRead.vanished, [{ shardId: 'gone', childShardId: 'child' }]);
  assert.deepEqual(
    midRead.readable.map((shard) => shard.shardId),
    ['child'],
  );
  assert.deepEqual(planShards(shards, { finished: new Set(), started: new Set() }).vanished, []);
});

test('shard discovery pages through more than 100 shards', async () => {
  const shards = Array.from({ length: 250 }, (_, index) => ({
    shardId: `shard-${String(index).padStart(3, '0')}`,
    closed: false,
    records: [],
  }));
  const stream = new SimulatedStream(ARN, shards);
  const listed = await sourceOf(stream).listShards();
  assert.equal(listed.length, 250);
  assert.equal(new Set(listed.map((shard) => shard.shardId)).size, 250);
  assert.deepEqual(stream.calls, ['DescribeStream', 'DescribeStream shard-099', 'DescribeStream shard-199']);
});

test('an expired iterator is renewed after the last record read, without losing or repeating records', async () => {
  const stream = new SimulatedStream(ARN, [{ shardId: 's', closed: true, records: simulatedRecords('s', 0, 12) }]);
  const reader = new ShardReader(sourceOf(stream), 's', undefined, { type: 'TRIM_HORIZON' }, policy);
  const seen: string[] = [];
  while (!reader.ended) {
    seen.push(...(await reader.poll(0)).map((record) => record.sequenceNumber));
    stream.expireIterators();
  }
  assert.deepEqual(
    seen,
    simulatedRecords('s', 0, 12).map((record) => record.sequenceNumber),
  );
  assert.ok(
    stream.calls.some((call) => call.startsWith('GetShardIterator s AFTER_SEQUENCE_NUMBER')),
    'renewed after a sequence number',
  );
});

test('throttling is retried with backoff, then reading goes on', async () => {
  const stream = new SimulatedStream(ARN, [{ shardId: 's', closed: false, records: simulatedRecords('s', 0, 3) }]);
  stream.failures.GetRecords = [
    'LimitExceededException',
    'ProvisionedThroughputExceededException',
    'ThrottlingException',
  ];
  const reader = new ShardReader(sourceOf(stream), 's', undefined, { type: 'TRIM_HORIZON' }, policy);
  assert.equal((await reader.poll(0)).length, 3);
  assert.equal(stream.calls.filter((call) => call.startsWith('GetRecords')).length, 4);
});

test('retries end: a persistent throttle surfaces after the configured attempts', async () => {
  const stream = new SimulatedStream(ARN, [{ shardId: 's', closed: false, records: simulatedRecords('s', 0, 3) }]);
  stream.failures.GetRecords = Array(10).fill('LimitExceededException');
  const reader = new ShardReader(sourceOf(stream), 's', undefined, { type: 'TRIM_HORIZON' }, policy);
  await assert.rejects(reader.poll(0), { name: 'LimitExceededException' });
});

test('trimmed records after the committed position raise a gap that names the shard and position', async () => {
  const records = simulatedRecords('s', 0, 10);
  const stream = new SimulatedStream(ARN, [{ shardId: 's', closed: false, records, trimmedBefore: 6 }]);
  const reader = new ShardReader(sourceOf(stream), 's', records[2]!.sequenceNumber, { type: 'TRIM_HORIZON' }, policy);
  const gap = await reader.poll(0).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(gap instanceof GapError);
  assert.equal(gap.shardId, 's');
  assert.equal(gap.afterSequenceNumber, records[2]!.sequenceNumber);
  // Under the skip policy reading resumes at the oldest record still held.
  reader.restartFromTrimHorizon();
  assert.deepEqual(
    (await reader.poll(0)).map((record) => record.sequenceNumber),
    records.slice(6).map((record) => record.sequenceNumber),
  );
});

test('rewind returns to the committed position after a failed transaction', async () => {
  const records = simulatedRecords('s', 0, 10);
  const stream = new SimulatedStream(ARN, [{ shardId: 's', closed: false, records }]);
  const reader = new ShardReader(sourceOf(stream), 's', undefined, { type: 'TRIM_HORIZON' }, policy);
  await reader.poll(0);
  reader.commit();
  const lost = await reader.poll(0);
  reader.rewind();
  const again = await reader.poll(0);
  assert.deepEqual(
    again.map((record) => record.sequenceNumber),
    lost.map((record) => record.sequenceNumber),
  );
});

test('idle shards are polled less often, and at once again when records arrive', async () => {
  const stream = new SimulatedStream(ARN, [{ shardId: 's', closed: false, records: [] }]);
  const reader = new ShardReader(sourceOf(stream), 's', undefined, { type: 'TRIM_HORIZON' }, policy);
  const waits: number[] = [];
  for (let poll = 0; poll < 4; poll++) {
    await reader.poll(1000);
    waits.push(reader.nextPollAt - 1000);
  }
  assert.deepEqual(waits, [10, 20, 40, 40]);
});

test('backoff is full jitter under a cap', () => {
  const backoff = { baseMs: 100, maxMs: 1000, attempts: 10 };
  assert.equal(
    backoffDelay(backoff, 0, () => 0.999),
    99,
  );
  assert.equal(
    backoffDelay(backoff, 10, () => 0.999),
    999,
  );
  assert.equal(
    backoffDelay(backoff, 3, () => 0),
    0,
  );
});

test('the dedupe window forgets the oldest ids first', () => {
  const window = new DedupeWindow(2);
  window.remember(
    new Map([
      ['a', 'shard'],
      ['b', 'shard'],
    ]),
  );
  assert.ok(window.has('a') && window.has('b'));
  window.remember(new Map([['c', 'shard']]));
  assert.ok(!window.has('a') && window.has('b') && window.has('c'));
});
