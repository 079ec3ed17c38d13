import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatCheckpointKey,
  parseCheckpointKey,
  parseSnapshotStreamId,
  resnapshotRunId,
  snapshotStreamId,
} from '../../../connector/checkpoint-keys.ts';

const streamArn = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-26T10:00:00.000';

test('checkpoint keys read back as they were written, for every kind of stream', () => {
  for (const key of [
    { connector: 'shardline', stream: streamArn, shard: 'shardId-00000001764000000000-abcdef01' },
    { connector: 'shardline-demo-1a2b', stream: 'orders-cdc', shard: 'shardId-000000000003' },
    { connector: 'shardline', stream: snapshotStreamId({ table: 'orders' }), shard: 'segment-0' },
    {
      connector: 'shardline',
      stream: snapshotStreamId({ table: 'orders', run: resnapshotRunId(1764000000000) }),
      shard: 'sweep',
    },
  ]) {
    assert.deepEqual(parseCheckpointKey(formatCheckpointKey(key)), key);
  }
});

test('records of the checkpoint topic that are not checkpoints are not read as ones', () => {
  for (const key of ['shardline-barrier', 'a|b', 'a|b|c|d', '|stream|shard', 'connector||shard', 'connector|stream|']) {
    assert.equal(parseCheckpointKey(key), undefined, key);
  }
});

test('scan streams name their table and re-snapshot run; other streams are not scans', () => {
  assert.deepEqual(parseSnapshotStreamId('snapshot:orders'), { table: 'orders' });
  assert.deepEqual(parseSnapshotStreamId(snapshotStreamId({ table: 'orders.v2', run: 'resnapshot-1764000000000' })), {
    table: 'orders.v2',
    run: 'resnapshot-1764000000000',
  });
  for (const stream of [
    streamArn,
    'orders-cdc',
    'snapshot:',
    'snapshot:orders:other-run',
    'snapshot:orders:resnapshot-1:extra',
  ]) {
    assert.equal(parseSnapshotStreamId(stream), undefined, stream);
  }
});
