import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import {
  BatchWriteItemCommand,
  DescribeTableCommand,
  TagResourceCommand,
  UpdateTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { createOrdersTable, OrdersWorkload } from '../../../cli/demo/workload.ts';
import { startPipeline, type RunningPipeline } from '../../../cli/commands/run.ts';
import { selectedSinks } from '../../../cli/pipeline.ts';
import { status } from '../../../cli/commands/status.ts';
import { connectorGroupId, unitsTopic } from '../../../connector/scale-out/scaled-connector.ts';
import { unitOwners } from '../../../connector/scale-out/unit-assigner.ts';
import { createDynamoDb } from '../../../core/aws.ts';
import { createKafka } from '../../../core/kafka.ts';
import { ChangeEventCodec, type ChangeEventCodec as Codec } from '../../../schemas/registry.ts';
import type { ChangeEvent } from '../../../schemas/change-event.ts';
import { streamEventIds, testAws } from '../../harness/connector.ts';
import { eventually } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { testPipelineConfig } from '../../harness/pipeline-config.ts';
import { cachedItems, expectedOrders, scanTable } from '../../harness/stores.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

const endpoints = testEndpoints();
const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'discovery-test' });
const codec: Codec = new ChangeEventCodec({ url: endpoints.registryUrl });

/** A pipeline config whose tables are one discovery rule, listed every second; the cache group only. */
function discoveryConfig(prefix: string, rule: Record<string, unknown>, connector: Record<string, unknown> = {}) {
  return testPipelineConfig(
    prefix,
    {
      tables: [{ entities: ['order'], ...rule }],
      discovery: { intervalMs: 1_000 },
      polling: { idleMinMs: 50, idleMaxMs: 200 },
      ...connector,
    },
    { cache: { groupId: `${prefix}-cache`, url: endpoints.redisUrl, keyPrefix: prefix, ttlSeconds: 3600 } },
  );
}

/** The change events of a topic, read again until `complete` holds for them (or the time is up). */
async function eventsOf(
  topic: string,
  complete: (events: ChangeEvent[]) => boolean,
  timeoutMs = 60_000,
): Promise<ChangeEvent[]> {
  const deadline = Date.now() + timeoutMs;
  // Created by the connector when it finds the table.
  await waitForTopics(kafka, [topic], timeoutMs);
  for (;;) {
    // Everything the topic holds after a few seconds' read (a fresh reader joins, then reads from the start).
    const read = await readTopics(kafka, [topic], () => false, 5_000);
    const events = await Promise.all(
      read.filter(({ message }) => message.value).map(({ message }) => codec.decode(message.value!)),
    );
    if (complete(events) || Date.now() > deadline) return events;
  }
}

/** Every stream record's event id is among the events'. */
const hasAll = (ids: string[]) => (events: ChangeEvent[]) => {
  const seen = new Set(events.map((event) => event.eventId));
  return ids.every((id) => seen.has(id));
};

/** The cache as the table's items should show in it: each item under its table, with its current values. */
async function cacheMatchesTable(dynamodb: DynamoDBClient, prefix: string, table: string): Promise<void> {
  const expected = expectedOrders(await scanTable(dynamodb, table));
  const cachedDocs = async () =>
    new Map(
      [...(await cachedItems(`${prefix}:{${table}}`))]
        .filter(([, hash]) => hash.doc !== undefined)
        .map(([key, hash]) => {
          const doc = JSON.parse(hash.doc!) as Record<string, unknown>;
          return [key.slice(`${prefix}:{${table}}:`.length), String(doc.total)] as const;
        }),
    );
  const want = new Map([...expected].map(([key, order]) => [key, String(order.total)]));
  const cached = await eventually(async () => [...(await cachedDocs())].sort(), [...want].sort(), 60_000);
  assert.deepEqual(cached, [...want].sort());
}

async function topicNames(): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

async function stopAll(pipelines: RunningPipeline[]): Promise<void> {
  for (const pipeline of pipelines) await pipeline.stop();
}

test(
  'a table created while the pipeline runs is found by its name pattern: its changes reach Kafka and the cache once, without a restart',
  { timeout: 180_000 },
  async () => {
    const prefix = uniqueName('disc');
    const dynamodb = createDynamoDb(testAws());
    const config = discoveryConfig(prefix, { match: `${prefix}-orders-*` });
    const pipeline = await startPipeline(config, {
      connector: true,
      sinks: selectedSinks(config, ['cache']),
      http: false,
    });
    try {
      // A table the pattern does not match is never read.
      const other = `${prefix}-users`;
      await createOrdersTable(dynamodb, other);
      const table = `${prefix}-orders-eu`;
      await createOrdersTable(dynamodb, table);
      const workload = new OrdersWorkload(dynamodb, table, 7);
      for (let step = 0; step < 60; step++) await workload.step();
      await new OrdersWorkload(dynamodb, other, 8).step();

      const truth = await streamEventIds(table);
      const events = await eventsOf(`${prefix}.${table}.order`, hasAll(truth));
      assert.deepEqual(events.map((event) => event.eventId).sort(), [...truth].sort(), 'each stream record once');
      assert.ok(events.every((event) => event.table === table));
      await cacheMatchesTable(dynamodb, prefix, table);
      const topics = await topicNames();
      assert.ok(!topics.includes(`${prefix}.${other}.order`), 'the unmatched table has no topic');

      // A second table while the group reads the first: the group subscribes again (a new member, a new sink),
      // goes on with the first table where it was and reads the second.
      const second = `${prefix}-orders-us`;
      await createOrdersTable(dynamodb, second);
      const secondWorkload = new OrdersWorkload(dynamodb, second, 9);
      for (let step = 0; step < 40; step++) await secondWorkload.step();
      for (let step = 0; step < 20; step++) await workload.step();
      for (const written of [table, second]) {
        const ids = await streamEventIds(written);
        const read = await eventsOf(`${prefix}.${written}.order`, hasAll(ids));
        assert.deepEqual(read.map((event) => event.eventId).sort(), [...ids].sort(), `${written}: each record once`);
        await cacheMatchesTable(dynamodb, prefix, written);
      }

      // `status` shows the discovered table like a configured one: its shard, and the group's lag on its topic.
      const report = await status(config, []);
      assert.ok(
        report.shards.some(({ stream }) => stream.includes(`table/${table}/stream`)),
        JSON.stringify(report.shards),
      );
      assert.ok(
        report.groups.some((lag) => lag.group === `${prefix}-cache` && lag.topic === `${prefix}.${table}.order`),
        JSON.stringify(report.groups),
      );
    } finally {
      await stopAll([pipeline]);
      dynamodb.destroy();
    }
  },
);

test(
  'a matching table without a stream waits; once its stream is on, its snapshot brings the items written before, once each',
  { timeout: 180_000 },
  async () => {
    const prefix = uniqueName('dsnap');
    const dynamodb = createDynamoDb(testAws());
    const table = `${prefix}-orders-1`;
    // Items written before the table has a stream: only the snapshot can bring them.
    await createOrdersTable(dynamodb, table, { stream: false });
    const before = 30;
    await dynamodb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [table]: Array.from({ length: before }, (_, index) => ({
            PutRequest: {
              Item: {
                PK: { S: `ORDER#old${index}` },
                SK: { S: `ORDER#old${index}` },
                user_id: { S: 'USER#1' },
                category: { S: 'books' },
                created_at: { S: '2026-11-01T10:00:00.000Z' },
                total: { N: `${index}.50` },
                status: { S: 'new' },
              },
            },
          })),
        },
      }),
    );
    const config = discoveryConfig(prefix, { match: `${prefix}-orders-*`, snapshot: { enabled: true, segments: 2 } });
    const pipeline = await startPipeline(config, {
      connector: true,
      sinks: selectedSinks(config, ['cache']),
      http: false,
    });
    try {
      // Found, but without a stream: the connector goes on (and checks again every round).
      const outcome = await Promise.race([
        pipeline.failed.catch((error: unknown) => `failed: ${String(error)}`),
        sleep(2_500).then(() => 'running'),
      ]);
      assert.equal(outcome, 'running');
      await dynamodb.send(
        new UpdateTableCommand({
          TableName: table,
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        }),
      );
      const workload = new OrdersWorkload(dynamodb, table, 11);
      for (let step = 0; step < 20; step++) await workload.step();

      const truth = await streamEventIds(table);
      const keysOf = (rows: ChangeEvent[]) =>
        rows.map((event) => String(event.keys.PK?.S)).filter((key) => key.includes('old'));
      const events = await eventsOf(
        `${prefix}.${table}.order`,
        (read) =>
          hasAll(truth)(read) && new Set(keysOf(read.filter((event) => event.op === 'SNAPSHOT'))).size === before,
      );
      const snapshotRows = events.filter((event) => event.op === 'SNAPSHOT');
      assert.equal(new Set(keysOf(snapshotRows)).size, before, 'every item written before the stream, by the snapshot');
      assert.equal(keysOf(snapshotRows).length, before, 'each of them once');
      assert.deepEqual(
        events
          .filter((event) => event.op !== 'SNAPSHOT')
          .map((event) => event.eventId)
          .sort(),
        [...truth].sort(),
        'each stream record once',
      );
      await cacheMatchesTable(dynamodb, prefix, table);
    } finally {
      await stopAll([pipeline]);
      dynamodb.destroy();
    }
  },
);

test(
  'tables by tag, read by two scaled-out instances: a tagged table found while they run is read once across them',
  { timeout: 240_000 },
  async () => {
    const prefix = uniqueName('dtag');
    const dynamodb = createDynamoDb(testAws());
    const tag = { key: `cdc-${prefix}`, value: 'on' };
    const config = discoveryConfig(prefix, { tag }, { scaleOut: { units: 4, sessionTimeoutMs: 6_000 } });
    const first = await startPipeline(config, {
      connector: true,
      sinks: selectedSinks(config, ['cache']),
      http: false,
    });
    const second = await startPipeline(config, { connector: true, sinks: [], http: false });
    try {
      const tables = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
      for (const table of tables) {
        await createOrdersTable(dynamodb, table);
        await dynamodb.send(
          new TagResourceCommand({
            ResourceArn: (await dynamodb.send(new DescribeTableCommand({ TableName: table }))).Table!.TableArn,
            Tags: [{ Key: tag.key, Value: tag.value }],
          }),
        );
      }
      const untagged = `${prefix}-untagged`;
      await createOrdersTable(dynamodb, untagged);
      for (const [index, table] of [...tables, untagged].entries()) {
        const workload = new OrdersWorkload(dynamodb, table, 20 + index);
        for (let step = 0; step < 25; step++) await workload.step();
      }
      for (const table of tables) {
        const truth = await streamEventIds(table);
        const events = await eventsOf(`${prefix}.${table}.order`, hasAll(truth));
        assert.deepEqual(events.map((event) => event.eventId).sort(), [...truth].sort(), `${table}: each record once`);
        await cacheMatchesTable(dynamodb, prefix, table);
      }
      const topics = await topicNames();
      assert.ok(!topics.includes(`${prefix}.${untagged}.order`), 'the untagged table has no topic');
      // Both instances hold units: the tables' shards are shared between them.
      const owners = await unitOwners(kafka, connectorGroupId(prefix), unitsTopic(prefix, `${prefix}.checkpoints`));
      assert.equal(owners.length, 2, JSON.stringify(owners));
      assert.ok(
        owners.every(({ units }) => units.length > 0),
        JSON.stringify(owners),
      );
    } finally {
      await stopAll([second, first]);
      dynamodb.destroy();
    }
  },
);
