import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../core/aws.ts';
import { createKafka } from '../../core/kafka.ts';
import { ensureTopics } from '../../core/topics.ts';
import type { ChildProcess } from 'node:child_process';
import type { Kafka } from 'kafkajs';
import { ChangeEventCodec } from '../../schemas/registry.ts';
import { createStreamTable, streamEventIds, testAws } from '../harness/connector.ts';
import { testEndpoints, uniqueName } from '../harness/endpoints.ts';
import { killHard, randomBetween, spawnEntry } from '../harness/processes.ts';
import { readTopics } from '../harness/topic-reader.ts';

const KILLS = 8;

async function deadLetterCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
  } finally {
    await admin.disconnect();
  }
}

test(`SIGKILL the connector ${KILLS} times while the table changes: every change reaches Kafka exactly once`, async (t) => {
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const child of children) await killHard(child);
  });
  const dynamodb = createDynamoDb(testAws());
  const table = await createStreamTable(dynamodb);
  const prefix = uniqueName('fault');
  const env = { SHARDLINE_TEST_TABLE: table, SHARDLINE_TEST_PREFIX: prefix };
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
  const topic = `${prefix}.${table}.order`;
  // Created up front, as `shardline connector` does, so no run depends on topic auto-creation.
  await ensureTopics(kafka, [topic]);

  let writing = true;
  let writes = 0;
  const writer = (async () => {
    while (writing) {
      const Key = { PK: { S: `ORDER#${randomBetween(0, 40)}` }, SK: { S: 'ORDER' } };
      const roll = Math.random();
      if (roll < 0.5)
        await dynamodb.send(
          new PutItemCommand({ TableName: table, Item: { ...Key, total: { N: `${randomBetween(1, 10_000)}.25` } } }),
        );
      else if (roll < 0.8)
        await dynamodb
          .send(
            new UpdateItemCommand({
              TableName: table,
              Key,
              UpdateExpression: 'SET note = :n',
              ConditionExpression: 'attribute_exists(PK)',
              ExpressionAttributeValues: { ':n': { S: `n${writes}` } },
            }),
          )
          .catch(() => undefined);
      else await dynamodb.send(new DeleteItemCommand({ TableName: table, Key }));
      writes++;
      await sleep(randomBetween(2, 15));
    }
  })();

  for (let kill = 0; kill < KILLS; kill++) {
    const connector = spawnEntry(new URL('../harness/connector-process.ts', import.meta.url), env);
    children.push(connector);
    await sleep(randomBetween(1_500, 4_000));
    await killHard(connector);
  }
  writing = false;
  await writer;

  const truth = await streamEventIds(table);
  const last = spawnEntry(new URL('../harness/connector-process.ts', import.meta.url), env);
  children.push(last);
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  // Read until every change is there, then a little longer so that a duplicate would show.
  const caughtUp = performance.now();
  const first = await readTopics(kafka, [topic], (messages) => messages.length >= truth.length, 60_000);
  t.diagnostic(
    `the last connector delivered ${first.length} of ${truth.length} changes in ${Math.round(performance.now() - caughtUp)} ms`,
  );
  assert.equal(last.exitCode, null, 'the last connector is still running');
  const read = await readTopics(kafka, [topic], (messages) => messages.length > truth.length, 5_000);
  last.kill('SIGTERM');
  await new Promise((resolve) => last.once('exit', resolve));

  const ids = await Promise.all(read.map(async ({ message }) => (await codec.decode(message.value!)).eventId));
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const doubled = [...counts].filter(([, count]) => count > 1);
  const missing = truth.filter((id) => !counts.has(id));
  assert.ok(truth.length > 100, `the writer made enough changes (${truth.length})`);
  assert.deepEqual(doubled, [], 'no change twice');
  assert.deepEqual(missing, [], 'no change missing');
  assert.equal(ids.length, truth.length);
  // A kill in the middle of the schema registration once sent every later event here.
  assert.deepEqual(await deadLetterCount(kafka, `${prefix}.dlq`), 0, 'nothing dead-lettered');
  t.diagnostic(`${truth.length} changes, ${KILLS} kills`);
  dynamodb.destroy();
});
