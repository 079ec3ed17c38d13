import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { createOrdersTable } from '../../cli/demo/workload.ts';
import { streamArnOf } from '../../connector/dynamodb/table.ts';
import { isTrimmedData } from '../../connector/shards/errors.ts';
import { createDynamoDb, createDynamoDbStreams } from '../../core/aws.ts';
import { testAws } from '../harness/connector.ts';
import { testEndpoints, uniqueName } from '../harness/endpoints.ts';
import { TrimmingProxy } from './trimming-proxy.ts';

/** The chaos run's trimmed-stream gap rests on this: through the proxy, a trimmed stream answers as DynamoDB Streams does. */
test('trimming proxy: positions and iterators below the horizon are refused as trimmed, TRIM_HORIZON starts at it, the lost records are named', async (t) => {
  const dynamodb = createDynamoDb(testAws());
  const direct = createDynamoDbStreams(testAws());
  const proxy = new TrimmingProxy(new URL(testEndpoints().awsEndpoint), direct);
  await proxy.start();
  const proxied = createDynamoDbStreams({ ...testAws(), endpoint: proxy.url });
  t.after(async () => {
    await proxy.stop();
    for (const client of [dynamodb, direct, proxied]) client.destroy();
  });
  const table = uniqueName('trimmed');
  await createOrdersTable(dynamodb, table);
  const put = (id: string) => dynamodb.send(new PutItemCommand({ TableName: table, Item: { PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` } } }));
  for (const id of ['a', 'b', 'c']) await put(id);
  const StreamArn = await streamArnOf(dynamodb, table);
  const [shard] = (await direct.send(new DescribeStreamCommand({ StreamArn }))).StreamDescription!.Shards!;
  const shardId = shard!.ShardId!;
  // A reader that read the first record, then fell behind: its next iterator is handed out before the trim.
  const { ShardIterator: behind } = await proxied.send(new GetShardIteratorCommand({ StreamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
  const { NextShardIterator: stale } = await proxied.send(new GetRecordsCommand({ ShardIterator: behind, Limit: 1 }));
  // Its read hangs across the trim.
  proxy.stallReads();
  const held = proxied.send(new GetRecordsCommand({ ShardIterator: stale }));
  const horizons = await proxy.trim(StreamArn);
  assert.deepEqual([...horizons.keys()], [shardId]);
  assert.equal(proxy.stalledReads, 1);
  proxy.releaseReads();
  await assert.rejects(held, (error: unknown) => isTrimmedData(error));
  const read = async (position: { ShardIteratorType: 'TRIM_HORIZON' } | { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER'; SequenceNumber: string }) => {
    const { ShardIterator } = await proxied.send(new GetShardIteratorCommand({ StreamArn, ShardId: shardId, ...position }));
    return ((await proxied.send(new GetRecordsCommand({ ShardIterator }))).Records ?? []).map((record) => record.dynamodb!.Keys!.PK!.S);
  };
  const first = (await direct.send(new GetRecordsCommand({ ShardIterator: (await direct.send(new GetShardIteratorCommand({ StreamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator }))).Records!;
  await put('d');

  await assert.rejects(read({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: first[0]!.dynamodb!.SequenceNumber! }), (error: unknown) => isTrimmedData(error));
  assert.deepEqual(await read({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: first[2]!.dynamodb!.SequenceNumber! }), ['ORDER#d']);
  assert.deepEqual(await read({ ShardIteratorType: 'TRIM_HORIZON' }), ['ORDER#d']);
  assert.deepEqual(proxy.trimmed.map((range) => range.met), ['GetRecords', 'GetShardIterator']);
  assert.deepEqual(await proxy.trimmedKeys(), ['PK=S:ORDER#b|SK=S:ORDER#b', 'PK=S:ORDER#c|SK=S:ORDER#c']);
});
