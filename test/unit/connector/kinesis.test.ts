import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import { parseKinesisChange } from '../../../connector/kinesis/record-format.ts';
import { planShards } from '../../../connector/shards/lineage.ts';

test('Kinesis resharding: pages of ListShards, and a merged shard waits for its parent and adjacent parent', async () => {
  const pages = [
    {
      Shards: [
        { ShardId: 'a', SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '9' } },
        { ShardId: 'b', SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '9' } },
      ],
      NextToken: 'page-2',
    },
    {
      Shards: [
        {
          ShardId: 'merged',
          ParentShardId: 'a',
          AdjacentParentShardId: 'b',
          SequenceNumberRange: { StartingSequenceNumber: '10' },
        },
      ],
    },
  ];
  const inputs: unknown[] = [];
  // Only the SDK client is scripted: the emulator cannot reshard.
  const client = {
    send: async (command: ListShardsCommand) => {
      inputs.push(command.input);
      return pages.shift();
    },
  } as unknown as KinesisClient;
  const source = new KinesisSource(client, {
    table: 'orders',
    streamName: 'orders-cdc',
    region: 'us-east-1',
    entityRule: { kind: 'fixed', name: 'order' },
  });
  const shards = await source.listShards();
  assert.deepEqual(inputs, [{ StreamName: 'orders-cdc' }, { NextToken: 'page-2' }]);
  assert.deepEqual(shards.find((shard) => shard.shardId === 'merged')?.parentShardIds, ['a', 'b']);
  assert.deepEqual(
    planShards(shards, { finished: new Set(['a']), started: new Set(['a', 'b']) }).readable.map(
      (shard) => shard.shardId,
    ),
    ['b'],
  );
});

test('the Kinesis record format: millisecond precision is scaled to microseconds, base64 binary decoded', () => {
  const parsed = parseKinesisChange(
    Buffer.from(
      JSON.stringify({
        eventID: 'e',
        eventName: 'INSERT',
        tableName: 't',
        dynamodb: {
          ApproximateCreationDateTime: 1_764_000_000_123,
          Keys: { PK: { S: 'A#1' } },
          NewImage: { PK: { S: 'A#1' }, bs: { BS: ['AQ=='] }, l: { L: [{ B: 'Ag==' }] } },
        },
      }),
    ),
  );
  assert.ok(parsed.ok);
  assert.equal(parsed.change.creationTimeMicros, 1_764_000_000_123_000);
  assert.deepEqual(parsed.change.newImage?.bs, { BS: [Buffer.from([1])] });
  assert.deepEqual(parsed.change.newImage?.l, { L: [{ B: Buffer.from([2]) }] });
  const broken = parseKinesisChange(Buffer.from('{"eventID": "e", "dynamodb": {}}'));
  assert.ok(!broken.ok && /ApproximateCreationDateTime/.test(broken.error.message));
});
