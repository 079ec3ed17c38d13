import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShardState } from '../../../connector/shards/shard-state.ts';
import type { ShardSource } from '../../../connector/shards/source.ts';
import type { PollingPolicy } from '../../../connector/shards/shard-reader.ts';

const polling: PollingPolicy = {
  idleMinMs: 10,
  idleMaxMs: 40,
  recordsPerRead: 5,
  recordsPerRound: 5,
  backoff: { baseMs: 1, maxMs: 5, attempts: 2 },
};

/** A source that is never read: the state only asks its identity. */
const sourceOf = (streamId: string, kind: ShardSource['kind'] = 'DYNAMODB_STREAMS', table = 'orders'): ShardSource => ({
  kind,
  streamId,
  table,
  listShards: () => Promise.reject(new Error('not listed here')),
  iterator: () => Promise.reject(new Error('not read here')),
  read: () => Promise.reject(new Error('not read here')),
  revive: () => Promise.reject(new Error('not revived here')),
});

const stateOf = (sources: ShardSource[]) =>
  new ShardState({
    connector: 'c',
    sources,
    dedupeWindowSize: 100,
    snapshotFactory: (table, run) => sourceOf(`snapshot:${table}:${run}`, 'SNAPSHOT', table),
  });

test("a re-snapshot run joins the state's sources; the caller's list stays as given", () => {
  const given = [sourceOf('stream-a')];
  const state = stateOf(given);
  const version = state.beginResnapshot('orders', 'resnapshot-1', (table, run) =>
    sourceOf(`snapshot:${table}:${run}`, 'SNAPSHOT', table),
  );
  assert.equal(given.length, 1);
  assert.deepEqual(
    state.sources.map((source) => source.streamId),
    ['stream-a', 'snapshot:orders:resnapshot-1'],
  );
  assert.deepEqual(state.pendingCheckpoints, [
    { key: 'c|snapshot:orders:resnapshot-1|segment-0', value: JSON.stringify({ finished: false, version }) },
  ]);
});

test('restored checkpoints: finished parents let children start, unfinished re-snapshot runs resume, readers go back to Kafka', () => {
  const stream = sourceOf('stream-a');
  const given = [stream];
  const state = stateOf(given);
  state.ensureReader(stream, { shardId: 'parent', parentShardIds: [], closed: true }, 'TRIM_HORIZON', polling);
  const shards = [
    { shardId: 'parent', parentShardIds: [], closed: true },
    { shardId: 'child', parentShardIds: ['parent'], closed: false },
  ];
  assert.deepEqual(
    state.plan(stream, shards).readable.map((shard) => shard.shardId),
    ['parent'],
  );
  state.restore(
    new Map([
      ['c|stream-a|parent', { sequenceNumber: '100000000000000000009', finished: true }],
      ['c|snapshot:orders:resnapshot-5|segment-0', { finished: false, version: '77' }],
      ['other|stream-a|child', { sequenceNumber: '1', finished: true }],
    ]),
  );
  assert.deepEqual(
    state.plan(stream, shards).readable.map((shard) => shard.shardId),
    ['child'],
    "another connector's checkpoint counts for nothing",
  );
  assert.equal(state.readers.size, 0, 'the finished parent was retired');
  assert.deepEqual(
    state.sources.map((source) => source.streamId),
    ['stream-a', 'snapshot:orders:resnapshot-5'],
  );
  assert.equal(given.length, 1);
  assert.equal(
    state.version('c|stream-a|parent'),
    100000000000000000009n,
    'a DynamoDB stream version is its sequence number',
  );
});

test('a committed round: positions, ids and versions become the state; pending checkpoints it carried are dropped', () => {
  const stream = sourceOf('stream-a');
  const state = stateOf([stream]);
  state.beginResnapshot('orders', 'resnapshot-1', (table, run) =>
    sourceOf(`snapshot:${table}:${run}`, 'SNAPSHOT', table),
  );
  state.beginResnapshot('orders', 'resnapshot-2', (table, run) =>
    sourceOf(`snapshot:${table}:${run}`, 'SNAPSHOT', table),
  );
  state.ensureReader(stream, { shardId: 's', parentShardIds: [], closed: false }, 'TRIM_HORIZON', polling);
  const { reader } = state.readers.get('c|stream-a|s')!;
  state.committed({
    readers: [reader],
    pending: 1,
    dedupeIds: new Map([['event-1', 'c|stream-a|s']]),
    versions: new Map([['c|stream-a|s', 5n]]),
  });
  assert.equal(state.pendingCheckpoints.length, 1, 'the run begun while the round was read waits for the next one');
  assert.ok(state.dedupe.has('event-1'));
  assert.equal(state.version('c|stream-a|s'), 5n);
  assert.ok(state.readers.has('c|stream-a|s'), 'an open shard keeps its reader');
});

test('restored after a commit whose outcome was unknown: pending checkpoints Kafka already holds are not written again over newer progress', () => {
  const stream = sourceOf('stream-a');
  const state = stateOf([stream]);
  state.beginResnapshot('orders', 'resnapshot-1', (table, run) =>
    sourceOf(`snapshot:${table}:${run}`, 'SNAPSHOT', table),
  );
  state.beginResnapshot('orders', 'resnapshot-2', (table, run) =>
    sourceOf(`snapshot:${table}:${run}`, 'SNAPSHOT', table),
  );
  state.markGone(stream, 'gone');
  state.markGone(stream, 'gone-too');
  state.restore(
    new Map([
      // The commit did land: run 1's first segment was read on, and finished.
      ['c|snapshot:orders:resnapshot-1|segment-0', { sequenceNumber: '{"PK":"x"}', finished: true, version: '9' }],
      ['c|stream-a|gone', { sequenceNumber: '100000000000000000001', finished: true }],
      // Not carried by it: the shard's older position only.
      ['c|stream-a|gone-too', { sequenceNumber: '100000000000000000002', finished: false }],
    ]),
  );
  assert.deepEqual(
    state.pendingCheckpoints.map((message) => message.key),
    ['c|snapshot:orders:resnapshot-2|segment-0', 'c|stream-a|gone-too'],
  );
});
