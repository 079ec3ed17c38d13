import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigurationError } from '../../../core/errors.ts';
import { defaultOrderView, defaultRollups, type RollupDefinition } from '../../../consumers/rollups/definition.ts';
import { itemsTable, rollupColumns } from '../../../consumers/rollups/items-table.ts';
import { RollupSink } from '../../../consumers/rollups/rollup-sink.ts';
import { statesOf } from '../../../consumers/rollups/state.ts';
import type { SinkBatch } from '../../../consumers/runtime/sink.ts';
import { canonicalKey, type ChangeEvent } from '../../../schemas/change-event.ts';
import { queryRows, testClickHouse } from '../../harness/consumers.ts';

const userTotals = defaultRollups.find((rollup) => rollup.name === 'user_totals')!;

const keys = { PK: { S: 'ORDER#1' }, SK: { S: 'ORDER#1' } };

function orderEvent(table: string, op: ChangeEvent['op'], version: string, total: string | null): ChangeEvent {
  return {
    op,
    eventId: `${table}-${version}`,
    table,
    entity: 'order',
    version,
    keys,
    before: null,
    after:
      total === null
        ? null
        : { ...keys, total: { N: total }, created_at: { S: '2026-03-01T10:00:00Z' }, user_id: { S: 'USER#1' } },
    source: {
      kind: 'DYNAMODB_STREAMS',
      region: 'us-east-1',
      table,
      stream: 's',
      shardId: 'sh',
      sequenceNumber: version,
      approximateCreationTimeMicros: 1,
      userIdentity: null,
      ttlDelete: false,
    },
  };
}

let nextOffset = 0;
function batchOf(...events: ChangeEvent[]): SinkBatch {
  const records = events.map((event) => ({ offset: String(nextOffset++), key: canonicalKey(keys), event }));
  return { topic: 'orders', partition: 0, records, nextOffset: String(nextOffset) };
}

const noDeadLetters = async (rejections: unknown[]) => assert.deepEqual(rejections, []);

test('rollup state is kept per table: equal keys in two tables neither overwrite nor delete each other', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const sink = new RollupSink({
    group: 'tables',
    clickhouse,
    rollups: [userTotals],
    views: { order: defaultOrderView },
  });
  await sink.open();
  await sink.apply(
    batchOf(orderEvent('orders_eu', 'INSERT', '5', '10.00'), orderEvent('orders_us', 'INSERT', '3', '20.00')),
    noDeadLetters,
  );
  assert.deepEqual(await queryRows(clickhouse, 'SELECT user_id, order_count, total_spent FROM user_totals'), [
    { user_id: 'USER#1', order_count: '2', total_spent: '30.00' },
  ]);

  await sink.apply(batchOf(orderEvent('orders_us', 'REMOVE', '9', null)), noDeadLetters);
  assert.deepEqual(await queryRows(clickhouse, 'SELECT user_id, order_count, total_spent FROM user_totals'), [
    { user_id: 'USER#1', order_count: '1', total_spent: '10.00' },
  ]);
  await sink.close();
});

test('a rollup whose definition no longer fits its existing table is refused at open, naming the difference', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const open = (rollup: RollupDefinition, view = defaultOrderView) =>
    new RollupSink({ group: 'defs', clickhouse, rollups: [rollup], views: { order: view } }).open();
  await open(userTotals);
  await open(userTotals); // the same definition opens again

  const byCategory: RollupDefinition = { ...userTotals, dimensions: [{ name: 'category', field: 'category' }] };
  await assert.rejects(open(byCategory), (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, String(error));
    assert.match(error.message, /rollups user_totals of order/);
    assert.match(error.message, /column user_totals__d_category .*missing/);
    assert.match(error.message, /column user_totals__d_user_id .*not in the definition/);
    assert.match(error.message, /DROP TABLE rollups_order_items/);
    return true;
  });
  const finerMoney = { ...defaultOrderView, total: { attribute: 'total', type: 'decimal', scale: 4 } } as const;
  await assert.rejects(
    open(userTotals, finerMoney),
    (error: unknown) =>
      error instanceof ConfigurationError &&
      /column user_totals__m_total_spent is Decimal\(38, 2\); the definition needs Decimal\(38, 4\)/.test(
        error.message,
      ),
  );
  // The entity's table holds every rollup of it: a rollup added later would start from the middle of the stream.
  const byDay: RollupDefinition = {
    ...userTotals,
    name: 'by_day',
    dimensions: [{ name: 'day', field: 'created_at', transform: 'day' }],
  };
  await assert.rejects(
    new RollupSink({
      group: 'defs',
      clickhouse,
      rollups: [userTotals, byDay],
      views: { order: defaultOrderView },
    }).open(),
    (error: unknown) =>
      error instanceof ConfigurationError &&
      /column by_day__d_day \(Date\) is missing/.test(error.message) &&
      /projection p_by_day is missing/.test(error.message),
  );

  // A table of the layout before aggregates (the rollup a view over per-item rows) is refused with how to move.
  await clickhouse.command({
    query:
      'CREATE TABLE rollup_older_items (table String, item_key String, version UInt256, is_deleted UInt8, user_id String, m_total_spent Decimal(38, 2)) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (table, item_key)',
  });
  await assert.rejects(
    open({ ...userTotals, name: 'older' }),
    (error: unknown) =>
      error instanceof ConfigurationError &&
      /layout of an older Shardline/.test(error.message) &&
      /DROP VIEW older; DROP TABLE rollup_older_items; .*new consumers.rollups.groupId/.test(error.message),
  );
  // So is a rollup's own aggregated table, the layout before one table per entity.
  await clickhouse.command({
    query:
      'CREATE TABLE rollup_own_items (table String, item_key String, version UInt256, is_deleted UInt8, partition UInt32, sign Int8) ENGINE = CollapsingMergeTree(sign) ORDER BY (table, item_key, version, is_deleted)',
  });
  await assert.rejects(
    open({ ...userTotals, name: 'own' }),
    (error: unknown) =>
      error instanceof ConfigurationError &&
      /its own aggregated table/.test(error.message) &&
      /DROP VIEW own; DROP TABLE rollup_own_items; .*new consumers.rollups.groupId/.test(error.message),
  );
});

test('a rollup is answered from its aggregate (one row per group), whole or filtered by a dimension', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const sink = new RollupSink({
    group: 'aggregate',
    clickhouse,
    rollups: [userTotals],
    views: { order: defaultOrderView },
  });
  await sink.open();
  await sink.apply(
    batchOf(orderEvent('orders', 'INSERT', '5', '10.00'), orderEvent('orders', 'MODIFY', '6', '12.25')),
    noDeadLetters,
  );
  await sink.close();
  // ClickHouse refuses a query it cannot answer from a projection under force_optimize_projection.
  const fromAggregate = 'SETTINGS force_optimize_projection = 1';
  assert.deepEqual(
    await queryRows(clickhouse, `SELECT user_id, order_count, total_spent FROM user_totals ${fromAggregate}`),
    [{ user_id: 'USER#1', order_count: '1', total_spent: '12.25' }],
  );
  assert.deepEqual(
    await queryRows(
      clickhouse,
      `SELECT order_count, total_spent FROM user_totals WHERE user_id = 'USER#1' ${fromAggregate}`,
    ),
    [{ order_count: '1', total_spent: '12.25' }],
  );
});

test('states are read back in runs of keys short enough for a URL, the same as in one read', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const sink = new RollupSink({ group: 'runs', clickhouse, rollups: [userTotals], views: { order: defaultOrderView } });
  await sink.open();
  const items = Array.from({ length: 30 }, (_, index) => ({
    PK: { S: `ORDER#${index}` },
    SK: { S: `ORDER#${index}` },
  }));
  await sink.apply(
    {
      topic: 'orders',
      partition: 0,
      records: items.map((itemKeys, index) => ({
        offset: String(index),
        key: canonicalKey(itemKeys),
        event: { ...orderEvent('orders', 'INSERT', String(100 + index), `${index}.50`), keys: itemKeys },
      })),
      nextOffset: '30',
    },
    noDeadLetters,
  );
  await sink.close();
  const columns = rollupColumns(userTotals, defaultOrderView).map(([name]) => name);
  const wanted = items.map((itemKeys) => ({ table: 'orders', itemKey: canonicalKey(itemKeys) }));
  const whole = await statesOf(clickhouse, itemsTable(userTotals), columns, wanted);
  // About 110 URL characters a key: runs of two keys, fifteen reads.
  const inRuns = await statesOf(clickhouse, itemsTable(userTotals), columns, wanted, 250);
  assert.equal(whole.size, 30);
  assert.deepEqual(inRuns, whole);
});
