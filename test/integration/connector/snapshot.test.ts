import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchWriteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../../core/aws.ts';
import { Connector } from '../../../connector/connector.ts';
import { SnapshotSource } from '../../../connector/snapshot/snapshot-source.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { createStreamTable, testAws, testConnectorOptions } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

const ITEMS = 300;

test('the initial snapshot: a parallel scan resumes where it stopped, and the stream covers what changed meanwhile', async () => {
  const dynamodb = createDynamoDb(testAws());
  const table = await createStreamTable(dynamodb);
  for (let start = 0; start < ITEMS; start += 25) {
    const items = Array.from({ length: 25 }, (_, offset) => ({
      PutRequest: { Item: { PK: { S: `ORDER#${start + offset}` }, SK: { S: 'ORDER' }, total: { N: '1.10' } } },
    }));
    await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: items } }));
  }
  const prefix = uniqueName('snap');
  const snapshot = () =>
    new SnapshotSource(dynamodb, {
      table,
      region: 'us-east-1',
      entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
      segments: 3,
      readCapacityPerSecond: 0,
    });
  const options = await testConnectorOptions(table, prefix);
  const topic = `${prefix}.${table}.order`;
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const snapshotEvents = async (count: number, timeoutMs?: number) => {
    const read = await readTopics(options.kafka, [topic], (messages) => messages.length >= count, timeoutMs);
    return Promise.all(read.map(async ({ message }) => codec.decode(message.value!)));
  };

  // First run, small pages: stopped part way through the scan.
  const first = new Connector({
    ...options,
    sources: [snapshot(), ...options.sources],
    polling: { ...options.polling, recordsPerRead: 7, recordsPerRound: 7 },
  });
  const firstRun = first.start();
  await waitForTopics(options.kafka, [topic]);
  await snapshotEvents(60);
  await first.stop();
  await firstRun;
  const partial = (await snapshotEvents(10_000, 3_000)).filter((event) => event.op === 'SNAPSHOT').length;
  assert.ok(partial > 0 && partial < ITEMS, `stopped mid-scan (${partial} of ${ITEMS} rows)`);

  // A change made between the runs arrives through the stream.
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { PK: { S: 'ORDER#7' }, SK: { S: 'ORDER' } },
      UpdateExpression: 'SET #t = :t',
      ExpressionAttributeNames: { '#t': 'total' },
      ExpressionAttributeValues: { ':t': { N: '2.20' } },
    }),
  );
  const second = new Connector({ ...options, sources: [snapshot(), ...options.sources] });
  const secondRun = second.start();
  // Every row once from the scan, plus the stream's inserts and the one update.
  const expected = ITEMS + ITEMS + 1;
  const events = await snapshotEvents(expected, 60_000);
  const settled = await snapshotEvents(expected + 1, 3_000);
  await second.stop();
  await secondRun;

  const rows = events.filter((event) => event.op === 'SNAPSHOT');
  assert.equal(settled.length, expected, 'nothing written twice');
  assert.equal(rows.length, ITEMS);
  assert.equal(new Set(rows.map((event) => event.eventId)).size, ITEMS, 'each row once across the restart');
  assert.ok(rows.every((event) => event.version === '0' && event.after?.total?.N !== undefined));
  const update = events.find((event) => event.op === 'MODIFY');
  assert.equal(update?.after?.total?.N, '2.20');
  dynamodb.destroy();
});
