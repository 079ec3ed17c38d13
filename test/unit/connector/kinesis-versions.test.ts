import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import { parseKinesisChange } from '../../../connector/kinesis/record-format.ts';
import { DedupeWindow } from '../../../connector/shards/dedupe.ts';
import { ConversionError, compareVersions } from '../../../schemas/change-event.ts';

// Only revive() is used: it builds a source record from a stored record without calling Kinesis.
const source = new KinesisSource({} as KinesisClient, {
  table: 'orders',
  streamName: 'orders-cdc',
  region: 'us-east-1',
  entityRule: { kind: 'fixed', name: 'order' },
});

function record(change: { eventName: string; created: number; precision?: string }): string {
  return JSON.stringify({
    eventID: `e-${Math.random()}`,
    eventName: change.eventName,
    tableName: 'orders',
    dynamodb: {
      ApproximateCreationDateTime: change.created,
      ...(change.precision ? { ApproximateCreationDateTimePrecision: change.precision } : {}),
      Keys: { PK: { S: 'ORDER#1' } },
      NewImage: { PK: { S: 'ORDER#1' } },
      OldImage: { PK: { S: 'ORDER#1' } },
    },
  });
}

const versionOf = async (sequenceNumber: string, data: string): Promise<string> =>
  (await source.revive('shardId-000000000000', { sequenceNumber, data })).toEvent().version;

// Sequence numbers as AWS and moto write them: 56 digits.
const seq = (n: number): string => `4960000000000000000000000000000000000000000000000000${String(n).padStart(4, '0')}`;

test('Kinesis versions: changes in one millisecond are ordered by sequence number, after every earlier millisecond', async () => {
  const ms = 1_764_000_000_123;
  const put = await versionOf(seq(10), record({ eventName: 'MODIFY', created: ms, precision: 'MILLISECOND' }));
  const remove = await versionOf(seq(11), record({ eventName: 'REMOVE', created: ms, precision: 'MILLISECOND' }));
  const earlier = await versionOf(seq(12), record({ eventName: 'MODIFY', created: ms - 1, precision: 'MILLISECOND' }));
  assert.match(put, /^[1-9]\d*$/);
  assert.equal(
    compareVersions(put, remove),
    -1,
    'the REMOVE that came second in the same millisecond orders after the PutItem',
  );
  assert.equal(compareVersions(earlier, put), -1, 'an earlier millisecond orders first whatever its sequence number');
  assert.equal(compareVersions('0', earlier), -1, 'snapshot rows (version 0) stay below every stream version');
  // A short sequence number (a new stream) still orders by creation time first.
  assert.equal(
    compareVersions(
      await versionOf('7', record({ eventName: 'MODIFY', created: ms + 1, precision: 'MILLISECOND' })),
      put,
    ),
    1,
  );
});

test('Kinesis versions fit ClickHouse UInt256, and a sequence number too long to fit is a conversion error', async () => {
  const longest = '9'.repeat(60);
  const version = await versionOf(
    longest,
    record({ eventName: 'MODIFY', created: Number.MAX_SAFE_INTEGER, precision: 'MICROSECOND' }),
  );
  assert.ok(BigInt(version) < 2n ** 256n, `${version} fits UInt256`);
  await assert.rejects(
    async () =>
      versionOf('1'.repeat(61), record({ eventName: 'MODIFY', created: 1_764_000_000_123, precision: 'MILLISECOND' })),
    (error: unknown) =>
      error instanceof ConversionError && /sequence number .* longer than 60 digits/.test(error.message),
  );
});

test('Kinesis creation time without a precision field: told apart by magnitude', () => {
  const parse = (created: number, precision?: string) => {
    const parsed = parseKinesisChange(Buffer.from(record({ eventName: 'INSERT', created, precision })));
    assert.ok(parsed.ok);
    return parsed.change.creationTimeMicros;
  };
  assert.equal(parse(1_764_000_000_123), 1_764_000_000_123_000);
  assert.equal(parse(1_764_000_000_123_456), 1_764_000_000_123_456);
  assert.equal(parse(1_764_000_000_123, 'MILLISECOND'), 1_764_000_000_123_000);
  assert.equal(parse(1_764_000_000_123_456, 'MICROSECOND'), 1_764_000_000_123_456);
});

test('the dedupe window: each shard keeps its newest ids for its checkpoint, and a restored window knows them', () => {
  const window = new DedupeWindow(3);
  const round = new Map([
    ['a', 'shard-1'],
    ['b', 'shard-2'],
    ['c', 'shard-1'],
  ]);
  assert.deepEqual(
    window.recent('shard-1', round),
    ['a', 'c'],
    "before the commit: the round's ids, not yet remembered",
  );
  assert.ok(!window.has('a'));
  window.remember(round);
  window.remember(
    new Map([
      ['d', 'shard-1'],
      ['e', 'shard-1'],
    ]),
  );
  assert.deepEqual(
    window.recent('shard-1', new Map()),
    ['c', 'd', 'e'],
    'at most the window size per shard, newest last',
  );
  const restored = new DedupeWindow(3);
  restored.seed('shard-1', ['c', 'd', 'e']);
  assert.ok(restored.has('e') && restored.has('c'));
  assert.deepEqual(restored.recent('shard-1', new Map([['f', 'shard-1']])), ['d', 'e', 'f']);
});
