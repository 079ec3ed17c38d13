import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { ClickHouseClient } from '@clickhouse/client';
import type { IHeaders } from 'kafkajs';
import { createOrdersTable } from '../../../cli/demo/workload.ts';
import { createDynamoDb } from '../../../core/aws.ts';
import { waitForCaughtUp } from '../../../core/lag.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { Connector } from '../../../connector/connector.ts';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { SnapshotSource } from '../../../connector/snapshot/snapshot-source.ts';
import { baseConnectorOptions, testAws } from '../../harness/connector.ts';
import { cacheSink, queryRows, rollupSink, searchSink, testClickHouse, testGroup } from '../../harness/consumers.ts';
import { uniqueName } from '../../harness/endpoints.ts';
import { SimulatedStream, type SimulatedShard } from '../../harness/simulated-streams.ts';
import { cachedItems, searchAll } from '../../harness/stores.ts';
import { readTopics } from '../../harness/topic-reader.ts';
import { idempotentProducer } from '../../harness/producer.ts';

type Item = { id: string; total: string; category: string; user: string };
const image = ({ id, total, category, user }: Item) => ({
  PK: { S: `ORDER#${id}` },
  SK: { S: `ORDER#${id}` },
  total: { N: total },
  category: { S: category },
  user_id: { S: user },
  created_at: { S: '2026-11-20T10:00:00Z' },
});
const keys = (id: string) => ({ PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` } });
const record = (
  index: number,
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  item: Item,
): SimulatedShard['records'][number] => ({
  sequenceNumber: String(100000000000000000000n + BigInt(index)),
  id: `e-${index}`,
  eventName,
  keys: keys(item.id),
  newImage: image(item),
});

test(
  'gap policy resnapshot repairs the sinks: a change and a delete lost in the gap, an insert lost in it, a change after it',
  { timeout: 240_000 },
  async (t) => {
    const dynamodb = createDynamoDb(testAws());
    const table = uniqueName('gaporders');
    await createOrdersTable(dynamodb, table);
    const a = { id: 'a', total: '10.00', category: 'books', user: 'u1' };
    const b = { id: 'b', total: '20.00', category: 'books', user: 'u2' };
    const c = { id: 'c', total: '30.00', category: 'toys', user: 'u1' };
    const d = { id: 'd', total: '40.00', category: 'toys', user: 'u3' };
    const history: SimulatedShard['records'] = [
      record(0, 'INSERT', a),
      record(1, 'INSERT', b),
      record(2, 'INSERT', c), // delivered before the gap
      record(3, 'MODIFY', { ...a, total: '15.00' }),
      record(4, 'REMOVE', b),
      record(5, 'INSERT', d), // lost: trimmed while the connector was away
      record(6, 'MODIFY', { ...c, total: '35.00' }), // after the gap
    ];
    // The table as it is after all of that: the re-scan reads it.
    for (const item of [{ ...a, total: '15.00' }, { ...c, total: '35.00' }, d])
      await dynamodb.send(new PutItemCommand({ TableName: table, Item: image(item) }));

    const prefix = uniqueName('gap');
    const stream = new SimulatedStream(`arn:aws:dynamodb:us-east-1:0:table/${table}/stream/2026-01-01T00:00:00.000`, [
      { shardId: 'only', closed: false, records: history.slice(0, 3) },
    ]);
    const entityRule = { kind: 'key-prefix' as const, attribute: 'PK', separator: '#', declared: ['order'] };
    const options = {
      ...baseConnectorOptions(prefix),
      sources: [
        new DynamoDbStreamSource(stream.client(), {
          table,
          streamArn: stream.streamArn,
          region: 'us-east-1',
          entityRule,
        }),
      ],
      gapPolicy: 'resnapshot' as const,
      snapshotFactory: (name: string, run: string, version: string) =>
        new SnapshotSource(dynamodb, {
          table: name,
          region: 'us-east-1',
          entityRule,
          segments: 2,
          readCapacityPerSecond: 0,
          run,
          version,
        }),
    };
    const topic = `${prefix}.${table}.order`;
    await ensureTopics(options.kafka, [topic, options.topics.deadLetter]);

    const { clickhouse } = await testClickHouse();
    const groups = [
      testGroup(prefix, 'rollups', [topic], rollupSink(prefix, clickhouse)),
      testGroup(prefix, 'search', [topic], searchSink(prefix)),
      testGroup(prefix, 'cache', [topic], cacheSink(prefix)),
    ];
    let live = true;
    const stopLive = async () => {
      if (!live) return;
      live = false;
      for (const group of groups) await group.stop();
      await clickhouse.close();
    };
    t.after(async () => {
      await stopLive();
      dynamodb.destroy();
    });
    for (const group of groups) await group.start();

    const first = new Connector(options);
    const firstRun = first.start();
    await sleep(1_500);
    await waitForCaughtUp(
      options.kafka,
      ['rollups', 'search', 'cache'].map((name) => `${prefix}-${name}`),
      topic,
      60_000,
    );
    await first.stop();
    await firstRun;
    stream.shards[0]!.records = history;
    stream.shards[0]!.trimmedBefore = 6;

    const second = new Connector({
      ...options,
      sources: [
        new DynamoDbStreamSource(stream.client(), {
          table,
          streamArn: stream.streamArn,
          region: 'us-east-1',
          entityRule,
        }),
      ],
    });
    const secondRun = second.start();
    // The re-scan (3 rows), the sweep and the change after the gap.
    await sleep(4_000);
    await waitForCaughtUp(
      options.kafka,
      ['rollups', 'search', 'cache'].map((name) => `${prefix}-${name}`),
      topic,
      60_000,
    );
    await second.stop();
    await secondRun;

    await assertRepaired(clickhouse, prefix);

    // A rebuild replays the same records in any order across partitions: here the sweep comes first, before
    // the rows written before the gap (b's INSERT among them). Fresh stores must end the same.
    const replayed = `${prefix}-replay`;
    const replayTopic = `${replayed}.${table}.order`;
    await ensureTopics(options.kafka, [replayTopic], 1);
    const records = await readTopics(options.kafka, [topic], () => false, 3_000);
    const isSweep = (headers: IHeaders | undefined) => String(headers?.ce_type) === 'order.swept';
    const ordered = [
      ...records.filter(({ message }) => isSweep(message.headers)),
      ...records.filter(({ message }) => !isSweep(message.headers)),
    ];
    const producer = idempotentProducer(options.kafka);
    await producer.connect();
    await producer.send({
      topic: replayTopic,
      messages: ordered.map(({ message }) => ({ key: message.key, value: message.value, headers: message.headers })),
    });
    await producer.disconnect();
    await stopLive(); // embedded ClickHouse: one data directory per process
    const fresh = await testClickHouse();
    const rebuilt = [
      testGroup(replayed, 'rollups', [replayTopic], rollupSink(replayed, fresh.clickhouse)),
      testGroup(replayed, 'search', [replayTopic], searchSink(replayed)),
      testGroup(replayed, 'cache', [replayTopic], cacheSink(replayed)),
    ];
    t.after(async () => {
      for (const group of rebuilt) await group.stop();
      await fresh.clickhouse.close();
    });
    for (const group of rebuilt) await group.start();
    await sleep(1_500);
    await waitForCaughtUp(
      options.kafka,
      ['rollups', 'search', 'cache'].map((name) => `${replayed}-${name}`),
      replayTopic,
      60_000,
    );
    await assertRepaired(fresh.clickhouse, replayed);
  },
);

/** a: changed in the gap (15.00), b: deleted in it, c: changed after it (35.00), d: created in it (40.00). */
async function assertRepaired(clickhouse: ClickHouseClient, prefix: string): Promise<void> {
  const expected = new Map([
    ['a', '15.00'],
    ['c', '35.00'],
    ['d', '40.00'],
  ]);
  const totals = await queryRows<{ user_id: string; order_count: string; total_spent: string }>(
    clickhouse,
    'SELECT user_id, order_count, total_spent FROM user_totals ORDER BY user_id',
  );
  assert.deepEqual(totals, [
    { user_id: 'u1', order_count: '2', total_spent: '50.00' },
    { user_id: 'u3', order_count: '1', total_spent: '40.00' },
  ]);
  const sales = await queryRows<{ category: string; revenue: string }>(
    clickhouse,
    'SELECT category, revenue FROM daily_sales ORDER BY category',
  );
  assert.deepEqual(sales, [
    { category: 'books', revenue: '15.00' },
    { category: 'toys', revenue: '75.00' },
  ]);

  const documents = await searchAll(`${prefix}-order`);
  assert.deepEqual(
    new Map(
      [...documents.values()].map((document) => [
        String(document.key).slice('PK=S:ORDER#'.length, 'PK=S:ORDER#'.length + 1),
        String(document.total),
      ]),
    ),
    expected,
  );

  const cached = await cachedItems(prefix);
  const live = new Map(
    [...cached]
      .filter(([, fields]) => fields.doc !== undefined)
      .map(([key, fields]) => [
        key.split('ORDER#')[1]!.slice(0, 1),
        String((JSON.parse(fields.doc!) as { total: string }).total),
      ]),
  );
  assert.deepEqual(live, expected);
}
