import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { defaultOrderView, defaultRollups, type RollupDefinition } from '../../../consumers/rollups/definition.ts';
import { RollupSink } from '../../../consumers/rollups/rollup-sink.ts';
import type { Rejection, SinkBatch } from '../../../consumers/runtime/sink.ts';
import { canonicalKey, type DynamoImage, type ChangeEvent } from '../../../schemas/change-event.ts';
import type { EntityView } from '../../../schemas/views.ts';
import { queryRows, testClickHouse } from '../../harness/consumers.ts';

/**
 * Values ClickHouse cannot hold in the rollup's column are dead-lettered by the sink with a reason
 * naming the field, the value and the column type; every other record of the batch is inserted.
 */

const view: EntityView = { ...defaultOrderView, quantity: { attribute: 'quantity', type: 'integer', default: 0 } };

const quantities: RollupDefinition = {
  name: 'quantities',
  entity: 'order',
  dimensions: [{ name: 'user_id', field: 'user_id' }],
  measures: [{ name: 'items', kind: 'sum', field: 'quantity' }],
};
const monthly: RollupDefinition = {
  name: 'monthly',
  entity: 'order',
  dimensions: [{ name: 'month', field: 'created_at', transform: 'month' }],
  measures: [{ name: 'orders', kind: 'count' }],
};

/** One order per item (ORDER#<n>), with the attributes given over a valid default. */
function order(n: number, attributes: DynamoImage): ChangeEvent {
  const keys = { PK: { S: `ORDER#${n}` }, SK: { S: `ORDER#${n}` } };
  return {
    op: 'INSERT',
    eventId: `e-${n}`,
    table: 'orders',
    entity: 'order',
    version: '1',
    keys,
    before: null,
    after: {
      ...keys,
      total: { N: '1.00' },
      created_at: { S: '2026-03-01T10:00:00Z' },
      category: { S: 'books' },
      user_id: { S: 'USER#1' },
      ...attributes,
    },
    source: {
      kind: 'DYNAMODB_STREAMS',
      region: 'us-east-1',
      table: 'orders',
      stream: 's',
      shardId: 'sh',
      sequenceNumber: String(n),
      approximateCreationTimeMicros: 1,
      userIdentity: null,
      ttlDelete: false,
    },
  };
}

const batchOf = (events: ChangeEvent[]): SinkBatch => ({
  topic: 'orders',
  partition: 0,
  nextOffset: String(events.length),
  records: events.map((event, offset) => ({ offset: String(offset), key: canonicalKey(event.keys), event })),
});

/** Applies one batch through a fresh sink; returns the dead letters. */
async function applyBatch(t: TestContext, rollups: RollupDefinition[], events: ChangeEvent[]) {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const sink = new RollupSink({ group: 'values', clickhouse, rollups, views: { order: view } });
  await sink.open();
  const deadLetters: Rejection[] = [];
  await sink.apply(batchOf(events), async (rejections) => {
    deadLetters.push(...rejections);
  });
  await sink.close();
  return { clickhouse, deadLetters };
}

test('a total with more integer digits than Decimal(38, 2) holds is dead-lettered; the rest of the batch is summed', async (t) => {
  const { clickhouse, deadLetters } = await applyBatch(t, defaultRollups, [
    order(0, { total: { N: '10.50' } }),
    order(1, { total: { N: '1E+36' } }),
    order(2, { total: { N: '20.25' } }),
    order(3, { total: { N: '-999999999999999999999999999999999999.99' } }), // 36 integer digits: the most that fits
  ]);
  assert.deepEqual(deadLetters, [
    {
      offset: '1',
      reason:
        'rollup daily_sales: total: 1000000000000000000000000000000000000.00 does not fit Decimal(38, 2), which holds at most 36 integer digits; ' +
        'rollup user_totals: total: 1000000000000000000000000000000000000.00 does not fit Decimal(38, 2), which holds at most 36 integer digits',
    },
  ]);
  assert.deepEqual(await queryRows(clickhouse, 'SELECT user_id, order_count, total_spent FROM user_totals'), [
    { user_id: 'USER#1', order_count: '3', total_spent: '-999999999999999999999999999999999969.24' },
  ]);
  assert.deepEqual(
    await queryRows(clickhouse, 'SELECT toString(day) AS day, category, order_count, revenue FROM daily_sales'),
    [{ day: '2026-03-01', category: 'books', order_count: '3', revenue: '-999999999999999999999999999999999969.24' }],
  );
});

test('an integer outside Int64 is dead-lettered at either end, not clamped', async (t) => {
  const { clickhouse, deadLetters } = await applyBatch(
    t,
    [quantities],
    [
      order(0, { quantity: { N: '9223372036854775807' } }),
      order(1, { quantity: { N: '9223372036854775808' } }),
      order(2, { quantity: { N: '-9223372036854775808' } }),
      order(3, { quantity: { N: '-9223372036854775809' } }),
      order(4, { quantity: { N: '5' } }),
    ],
  );
  assert.deepEqual(deadLetters, [
    {
      offset: '1',
      reason:
        'rollup quantities: quantity: 9223372036854775808 does not fit Int64 (-9223372036854775808 to 9223372036854775807)',
    },
    {
      offset: '3',
      reason:
        'rollup quantities: quantity: -9223372036854775809 does not fit Int64 (-9223372036854775808 to 9223372036854775807)',
    },
  ]);
  assert.deepEqual(await queryRows(clickhouse, 'SELECT user_id, items FROM quantities'), [
    { user_id: 'USER#1', items: '4' },
  ]);
});

test('a day or month outside what ClickHouse Date holds (1970-01-01 to 2149-06-06) is dead-lettered, not clamped', async (t) => {
  const { clickhouse, deadLetters } = await applyBatch(
    t,
    [defaultRollups[0]!, monthly],
    [
      order(0, { created_at: { S: '1969-12-31T23:59:59Z' } }),
      order(1, { created_at: { S: '1970-01-01T00:00:00Z' } }),
      order(2, { created_at: { S: '2149-06-06T23:59:59Z' } }),
      order(3, { created_at: { S: '2149-06-07T00:00:00Z' } }),
    ],
  );
  assert.deepEqual(deadLetters, [
    {
      offset: '0',
      reason:
        'rollup daily_sales: created_at: day 1969-12-31 does not fit Date (1970-01-01 to 2149-06-06); rollup monthly: created_at: month 1969-12-01 does not fit Date (1970-01-01 to 2149-06-06)',
    },
    // 2149-06 as a month is 2149-06-01, which a Date holds.
    {
      offset: '3',
      reason: 'rollup daily_sales: created_at: day 2149-06-07 does not fit Date (1970-01-01 to 2149-06-06)',
    },
  ]);
  assert.deepEqual(await queryRows(clickhouse, 'SELECT toString(day) AS day, order_count FROM daily_sales'), [
    { day: '1970-01-01', order_count: '1' },
    { day: '2149-06-06', order_count: '1' },
  ]);
  assert.deepEqual(await queryRows(clickhouse, 'SELECT toString(month) AS month, orders FROM monthly'), [
    { month: '1970-01-01', orders: '1' },
    { month: '2149-06-01', orders: '2' },
  ]);
});

test('sums in the rollup view are exact past 38 digits and past Int64, not wrapped around', async (t) => {
  const { clickhouse, deadLetters } = await applyBatch(
    t,
    [defaultRollups[1]!, quantities],
    [
      order(0, { total: { N: '999999999999999999999999999999999999.99' }, quantity: { N: '9223372036854775807' } }),
      order(1, { total: { N: '999999999999999999999999999999999999.99' }, quantity: { N: '9223372036854775807' } }),
    ],
  );
  assert.deepEqual(deadLetters, []);
  assert.deepEqual(await queryRows(clickhouse, 'SELECT total_spent FROM user_totals'), [
    { total_spent: '1999999999999999999999999999999999999.98' },
  ]);
  assert.deepEqual(await queryRows(clickhouse, 'SELECT items FROM quantities'), [{ items: '18446744073709551614' }]);
});
