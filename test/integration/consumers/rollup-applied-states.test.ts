import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { defaultOrderView, defaultRollups, type RollupDefinition } from '../../../consumers/rollups/definition.ts';
import { rebuildRollup } from '../../../consumers/rollups/consistency.ts';
import { RollupSink } from '../../../consumers/rollups/rollup-sink.ts';
import type { SinkBatch } from '../../../consumers/runtime/sink.ts';
import { canonicalKey, type ChangeEvent } from '../../../schemas/change-event.ts';
import { queryRows, testClickHouse } from '../../harness/consumers.ts';

/**
 * The sink keeps the states it applied instead of reading them back. These are the cases where what it
 * remembers is not what the store holds, and where it must read again: each would count an order twice.
 */

const userTotals = defaultRollups.find((rollup) => rollup.name === 'user_totals')!;
const keys = { PK: { S: 'ORDER#1' }, SK: { S: 'ORDER#1' } };

function modify(version: string, total: string): ChangeEvent {
  return {
    op: 'MODIFY',
    eventId: `e-${version}`,
    table: 'orders',
    entity: 'order',
    version,
    keys,
    before: null,
    after: { ...keys, total: { N: total }, created_at: { S: '2026-03-01T10:00:00Z' }, user_id: { S: 'USER#1' } },
    source: {
      kind: 'DYNAMODB_STREAMS',
      region: 'us-east-1',
      table: 'orders',
      stream: 's',
      shardId: 'sh',
      sequenceNumber: version,
      approximateCreationTimeMicros: 1,
      userIdentity: null,
      ttlDelete: false,
    },
  };
}

const batchOf = (partition: number, offset: number, event: ChangeEvent): SinkBatch => ({
  topic: 'orders',
  partition,
  records: [{ offset: String(offset), key: canonicalKey(keys), event }],
  nextOffset: String(offset + 1),
});
const noDeadLetters = async (rejections: unknown[]) => assert.deepEqual(rejections, []);
const totals = (clickhouse: ClickHouseClient) =>
  queryRows(clickhouse, 'SELECT user_id, order_count, total_spent FROM user_totals');
/** A client that records each listing of a partition's stored items (asked as a partition's kept states begin). */
function countingListings(clickhouse: ClickHouseClient): { counting: ClickHouseClient; listings: string[] } {
  const listings: string[] = [];
  const counting = new Proxy(clickhouse, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
      return (params: Parameters<ClickHouseClient['query']>[0]) => {
        if (params.query.includes('SELECT DISTINCT table, item_key'))
          listings.push(JSON.stringify(params.query_params));
        return target.query(params);
      };
    },
  });
  return { counting, listings };
}
const sinkOf = (clickhouse: ClickHouseClient, group: string) =>
  new RollupSink({ group, clickhouse, rollups: [userTotals], views: { order: defaultOrderView } });

test('a partition assigned again is read again: another member may have applied it meanwhile', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const [first, second] = [sinkOf(clickhouse, 'members'), sinkOf(clickhouse, 'members')];
  await first.open();
  await second.open();
  await first.progress('orders', 0);
  await first.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  // A rebalance: the partition goes to the second member, which applies the next change, then comes back.
  await second.progress('orders', 0);
  await second.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters);
  await first.progress('orders', 0);
  await first.apply(batchOf(0, 2, modify('3', '30.00')), noDeadLetters);
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '1', total_spent: '30.00' }]);
});

test('an insert whose outcome is unknown is read back on the retry, not applied over what the sink remembers', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  // The store keeps the insert, but the client reports it failed (a timeout after the server wrote it).
  let failNext = false;
  const flaky = new Proxy(clickhouse, {
    get(target, property, receiver) {
      if (property !== 'insert') return Reflect.get(target, property, receiver) as unknown;
      return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
        const result = await target.insert(params);
        if (failNext && params.table === 'rollups_order_items') {
          failNext = false;
          throw new Error('socket hang up');
        }
        return result;
      };
    },
  });
  const sink = sinkOf(flaky, 'flaky');
  await sink.open();
  await sink.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  failNext = true;
  await assert.rejects(sink.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters), /socket hang up/);
  await sink.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters);
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '1', total_spent: '20.00' }]);
});

test('a partition with no rows is taken as new only by the one group that wrote the table: another group may have put its items elsewhere', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  // A first group read a topic where the order lived in partition 1.
  const earlier = sinkOf(clickhouse, 'earlier');
  await earlier.open();
  await earlier.apply(batchOf(1, 0, modify('1', '10.00')), noDeadLetters);
  // A later group reads a topic of another partition count (a new topic set), where it lives in partition 0.
  const later = sinkOf(clickhouse, 'later');
  await later.open();
  await later.apply(batchOf(0, 0, modify('2', '20.00')), noDeadLetters);
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '1', total_spent: '20.00' }]);
});

test('a member that starts on a partition others applied before reads the items the table holds of it', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const before = sinkOf(clickhouse, 'restarts');
  await before.open();
  await before.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  await before.close();
  // The same group after a restart: the partition's items are in the table, not in the new member's memory.
  const after = sinkOf(clickhouse, 'restarts');
  await after.open();
  await after.progress('orders', 0);
  await after.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters);
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '1', total_spent: '20.00' }]);
});

test("a second group that starts writing the table while this one runs makes it read the store again: neither its cache nor its partitions listing hold the other group's rows", async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const newKeys = { PK: { S: 'ORDER#2' }, SK: { S: 'ORDER#2' } };
  const newOrder: ChangeEvent = {
    ...modify('1', '5.00'),
    eventId: 'e-new',
    keys: newKeys,
    after: { ...modify('1', '5.00').after!, ...newKeys },
  };
  const both = (offset: number): SinkBatch => ({
    topic: 'orders',
    partition: 0,
    nextOffset: String(offset + 2),
    records: [
      { offset: String(offset), key: canonicalKey(keys), event: modify('2', '20.00') },
      { offset: String(offset + 1), key: canonicalKey(newKeys), event: newOrder },
    ],
  });
  const running = sinkOf(clickhouse, 'running');
  await running.open();
  await running.progress('orders', 0);
  await running.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  // A new consumers.rollups.groupId deployed while the old group still runs: both apply the same changes.
  const deployed = sinkOf(clickhouse, 'deployed');
  await deployed.open();
  await deployed.progress('orders', 0);
  await deployed.apply(both(0), noDeadLetters);
  await running.apply(both(1), noDeadLetters);
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '2', total_spent: '25.00' }]);
});

test("a partition's stored items are listed as a stream: a partition of ten million items is past the longest string V8 can hold", async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const before = sinkOf(clickhouse, 'large');
  await before.open();
  await before.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  // What text() does with a listing past 2^29 - 24 characters, on results of this size only.
  const unbounded = new Proxy(clickhouse, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
      return async (params: Parameters<ClickHouseClient['query']>[0]) => {
        const result = await target.query(params);
        if (!params.query.includes('SELECT DISTINCT table, item_key')) return result;
        return Object.assign(result, { text: () => Promise.reject(new RangeError('Invalid string length')) });
      };
    },
  });
  const after = sinkOf(unbounded, 'large');
  await after.open();
  await after.progress('orders', 0);
  await after.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters);
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '1', total_spent: '20.00' }]);
});

test("a batch fails only once every entity's insert has settled: a retry must not read a table an insert may still land in", async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const refunds: RollupDefinition = { ...userTotals, name: 'refund_totals', entity: 'refund' };
  let refundsInsertDone = false;
  const failingOrders = new Proxy(clickhouse, {
    get(target, property, receiver) {
      if (property !== 'insert') return Reflect.get(target, property, receiver) as unknown;
      return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
        if (params.table === 'rollups_order_items') throw new Error('orders insert failed');
        if (params.table !== 'rollups_refund_items') return target.insert(params);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const result = await target.insert(params);
        refundsInsertDone = true;
        return result;
      };
    },
  });
  const sink = new RollupSink({
    group: 'two-entities',
    clickhouse: failingOrders,
    rollups: [userTotals, refunds],
    views: { order: defaultOrderView, refund: defaultOrderView },
  });
  await sink.open();
  const batch: SinkBatch = {
    topic: 'orders',
    partition: 0,
    nextOffset: '2',
    records: [
      { offset: '0', key: canonicalKey(keys), event: modify('1', '10.00') },
      { offset: '1', key: canonicalKey(keys), event: { ...modify('1', '3.00'), entity: 'refund' } },
    ],
  };
  await assert.rejects(sink.apply(batch, noDeadLetters), /orders insert failed/);
  assert.ok(refundsInsertDone, 'the batch failed while the refunds insert was still in flight');
});

test('a partition released to another member is dropped from memory (states and listing) and listed again if it comes back', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const { counting, listings } = countingListings(clickhouse);
  // Another order, in partition 1.
  const otherKeys = { PK: { S: 'ORDER#9' }, SK: { S: 'ORDER#9' } };
  const other = (offset: number, version: string, total: string): SinkBatch => ({
    topic: 'orders',
    partition: 1,
    nextOffset: String(offset + 1),
    records: [
      {
        offset: String(offset),
        key: canonicalKey(otherKeys),
        event: {
          ...modify(version, total),
          keys: otherKeys,
          after: { ...modify(version, total).after!, ...otherKeys },
        },
      },
    ],
  });
  const sink = sinkOf(counting, 'released');
  await sink.open();
  await sink.progress('orders', 0);
  await sink.progress('orders', 1);
  await sink.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  await sink.apply(other(0, '1', '4.00'), noDeadLetters);
  await sink.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters);
  assert.deepEqual(listings, ['{"partition":0}', '{"partition":1}'], 'each partition listed once while kept');
  sink.release([{ topic: 'orders', partition: 0 }]);
  await sink.apply(other(1, '2', '5.00'), noDeadLetters);
  await sink.apply(batchOf(0, 2, modify('3', '30.00')), noDeadLetters);
  assert.deepEqual(
    listings,
    ['{"partition":0}', '{"partition":1}', '{"partition":0}'],
    'only the released partition is listed again',
  );
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '2', total_spent: '35.00' }]);
});

test('a group recorded as a writer of a table since dropped does not keep the group replaying into the new table from keeping states', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const ended = sinkOf(clickhouse, 'ended');
  await ended.open();
  await ended.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  // The rebuild the README describes: the table dropped, the topics replayed by a new group.
  await clickhouse.command({ query: 'DROP TABLE rollups_order_items' });
  const { counting, listings } = countingListings(clickhouse);
  const replaying = sinkOf(counting, 'replaying');
  await replaying.open();
  await replaying.progress('orders', 0);
  await replaying.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  await replaying.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters);
  assert.deepEqual(
    listings,
    ['{"partition":0}'],
    "the new table's only writer keeps states (it lists the partition once, then reads nothing)",
  );
  assert.deepEqual(
    await queryRows(
      clickhouse,
      "SELECT group FROM rollup_items_writers FINAL WHERE items_table = 'rollups_order_items'",
    ),
    [{ group: 'replaying' }],
  );
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '1', total_spent: '20.00' }]);
});

test('a rebuilt table keeps the groups that wrote its rows: they are the same rows', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  for (const group of ['first', 'second']) {
    const sink = sinkOf(clickhouse, group);
    await sink.open();
    await sink.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  }
  await rebuildRollup(clickhouse, userTotals);
  const { counting, listings } = countingListings(clickhouse);
  const after = sinkOf(counting, 'second');
  await after.open();
  await after.progress('orders', 0);
  await after.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters);
  assert.deepEqual(listings, [], 'the table is still shared: every batch reads its items');
  assert.deepEqual(
    await queryRows(
      clickhouse,
      "SELECT group FROM rollup_items_writers FINAL WHERE items_table = 'rollups_order_items' ORDER BY group",
    ),
    [{ group: 'first' }, { group: 'second' }],
  );
});

test('the groups recorded before instances were recorded still count for a table made before them', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const older = sinkOf(clickhouse, 'older');
  await older.open();
  await older.apply(batchOf(0, 0, modify('1', '10.00')), noDeadLetters);
  // The table and the writers as an earlier Shardline left them: no instance in the comment, none recorded.
  await clickhouse.command({ query: "ALTER TABLE rollups_order_items MODIFY COMMENT ''" });
  await clickhouse.command({ query: 'DROP TABLE rollup_items_writers' });
  await clickhouse.command({
    query:
      'CREATE TABLE rollup_items_writers (items_table String, group String) ENGINE = ReplacingMergeTree ORDER BY (items_table, group)',
  });
  await clickhouse.command({ query: "INSERT INTO rollup_items_writers VALUES ('rollups_order_items', 'older')" });
  const { counting, listings } = countingListings(clickhouse);
  const now = sinkOf(counting, 'now');
  await now.open();
  await now.progress('orders', 0);
  await now.apply(batchOf(0, 1, modify('2', '20.00')), noDeadLetters);
  assert.deepEqual(listings, [], 'the table is shared with the older group: its items are read');
  assert.deepEqual(await totals(clickhouse), [{ user_id: 'USER#1', order_count: '1', total_spent: '20.00' }]);
});
