import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Redis } from 'ioredis';
import { configLoaderOf } from '../../../cli/config/load.ts';
import { buildConnector, buildConsumerGroups, selectedSinks } from '../../../cli/pipeline.ts';
import { SINKS } from '../../../cli/sinks.ts';
import { createDynamoDb, emulatorCredentials } from '../../../core/aws.ts';
import { endpointsToEnv } from '../../../stack/endpoints.ts';
import { changeCounts } from '../../fixtures/change-counts/index.ts';
import { createStreamTable, testAws } from '../../harness/connector.ts';
import { eventually } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

const fixture = new URL('../../fixtures/change-counts/index.ts', import.meta.url);

test("the README's new sink is the fixture, but for where its folder is", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Adding a consumer group for a new sink'));
  const shown = /```ts\n\/\/ consumers\/change-counts\/index\.ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.equal(shown, readFileSync(fixture, 'utf8').replaceAll("'../../../consumers/", "'../"));
});

test('a sink defined in its folder and added to the list gets its config block, its store endpoint and a consumer group', async (t) => {
  // The one line: the list cli/sinks.ts holds, with the new sink.
  const sinks = [...SINKS, changeCounts] as const;
  const dynamodb = createDynamoDb(testAws());
  const table = await createStreamTable(dynamodb);
  const prefix = uniqueName('counts');
  const path = join(mkdtempSync(join(tmpdir(), 'shardline-counts-')), 'shardline.yaml');
  writeFileSync(
    path,
    JSON.stringify({
      aws: {
        credentials: {
          accessKeyId: emulatorCredentials.accessKeyId,
          secretAccessKey: emulatorCredentials.secretAccessKey,
        },
      },
      connector: {
        name: `${prefix}-connector`,
        tables: [{ name: table, entities: ['order'] }],
        topics: {
          template: `${prefix}.{table}.{entity}`,
          checkpoints: `${prefix}.checkpoints`,
          deadLetter: `${prefix}.dlq`,
        },
      },
      consumers: { 'change-counts': { key: prefix, groupId: `${prefix}-counts`, batchSize: 2 } },
    }),
  );
  // The stack's endpoints come from the environment, the Redis one into the new sink's url (it lists the redis store).
  const config = configLoaderOf(sinks).load(path, endpointsToEnv(testEndpoints()));
  assert.equal(config.consumers['change-counts'].url, testEndpoints().redisUrl);
  assert.deepEqual(
    selectedSinks(config, [], sinks).map((sink) => sink.name),
    ['rollups', 'audit', 'search', 'cache', 'change-counts'],
  );

  const [group] = await buildConsumerGroups(config, selectedSinks(config, ['change-counts'], sinks), undefined);
  await group!.start();
  t.after(() => group!.stop());
  for (const id of [1, 2, 3])
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: { PK: { S: `ORDER#${id}` }, SK: { S: 'ORDER' }, total: { N: '10' } },
      }),
    );
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { PK: { S: 'ORDER#2' }, SK: { S: 'ORDER' } },
      UpdateExpression: 'SET #total = :total',
      ExpressionAttributeNames: { '#total': 'total' },
      ExpressionAttributeValues: { ':total': { N: '12' } },
    }),
  );
  const connector = await buildConnector(config);
  const running = connector.start();
  t.after(async () => {
    await connector.stop();
    await running;
  });

  const redis = new Redis(testEndpoints().redisUrl);
  t.after(() => redis.disconnect());
  assert.deepEqual(await eventually(() => redis.hgetall(prefix), { 'order:INSERT': '3', 'order:MODIFY': '1' }), {
    'order:INSERT': '3',
    'order:MODIFY': '1',
  });
});
