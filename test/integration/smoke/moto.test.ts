import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import {
  CreateStreamCommand,
  DescribeStreamCommand as DescribeKinesisStreamCommand,
  GetRecordsCommand as GetKinesisRecordsCommand,
  GetShardIteratorCommand as GetKinesisShardIteratorCommand,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { createDynamoDb, createDynamoDbStreams, createKinesis, emulatorCredentials } from '../../../core/aws.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

const aws = { region: 'us-east-1', endpoint: testEndpoints().awsEndpoint, credentials: emulatorCredentials };

test('PutItem, UpdateItem and DeleteItem arrive on the stream as INSERT, MODIFY and REMOVE with their images', async () => {
  const dynamodb = createDynamoDb(aws);
  const streams = createDynamoDbStreams(aws);
  const TableName = uniqueName('smoke');
  await dynamodb.send(
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'PK', AttributeType: 'S' },
        { AttributeName: 'SK', AttributeType: 'S' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  const Key = { PK: { S: 'ORDER#1' }, SK: { S: 'ORDER#1' } };
  await dynamodb.send(new PutItemCommand({ TableName, Item: { ...Key, total: { N: '10.50' } } }));
  await dynamodb.send(
    new UpdateItemCommand({
      TableName,
      Key,
      UpdateExpression: 'SET #total = :t',
      ExpressionAttributeNames: { '#total': 'total' },
      ExpressionAttributeValues: { ':t': { N: '12.25' } },
    }),
  );
  await dynamodb.send(new DeleteItemCommand({ TableName, Key }));

  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName }));
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: Table!.LatestStreamArn! }));
  const ShardId = StreamDescription!.Shards![0]!.ShardId!;
  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({ StreamArn: Table!.LatestStreamArn!, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const { Records } = await streams.send(new GetRecordsCommand({ ShardIterator: ShardIterator! }));

  assert.deepEqual(
    Records!.map((record) => record.eventName),
    ['INSERT', 'MODIFY', 'REMOVE'],
  );
  const [insert, modify, remove] = Records!;
  assert.deepEqual(insert!.dynamodb!.NewImage, { ...Key, total: { N: '10.50' } });
  assert.equal(insert!.dynamodb!.OldImage, undefined);
  assert.deepEqual(modify!.dynamodb!.OldImage, { ...Key, total: { N: '10.50' } });
  assert.deepEqual(modify!.dynamodb!.NewImage, { ...Key, total: { N: '12.25' } });
  assert.deepEqual(remove!.dynamodb!.OldImage, { ...Key, total: { N: '12.25' } });
  assert.deepEqual(remove!.dynamodb!.Keys, Key);
  const sequenceNumbers = Records!.map((record) => BigInt(record.dynamodb!.SequenceNumber!));
  assert.ok(
    sequenceNumbers[0]! < sequenceNumbers[1]! && sequenceNumbers[1]! < sequenceNumbers[2]!,
    'sequence numbers grow',
  );
});

test('a Kinesis stream receives records and returns them in order', async () => {
  const kinesis = createKinesis(aws);
  const StreamName = uniqueName('smoke');
  await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
  let description;
  do {
    description = (await kinesis.send(new DescribeKinesisStreamCommand({ StreamName }))).StreamDescription!;
  } while (description.StreamStatus !== 'ACTIVE');
  for (const value of ['one', 'two', 'three']) {
    await kinesis.send(new PutRecordCommand({ StreamName, PartitionKey: 'ORDER#1', Data: Buffer.from(value) }));
  }
  const { ShardIterator } = await kinesis.send(
    new GetKinesisShardIteratorCommand({
      StreamName,
      ShardId: description.Shards![0]!.ShardId!,
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const { Records } = await kinesis.send(new GetKinesisRecordsCommand({ ShardIterator: ShardIterator! }));
  assert.deepEqual(
    Records!.map((record) => Buffer.from(record.Data!).toString()),
    ['one', 'two', 'three'],
  );
});
