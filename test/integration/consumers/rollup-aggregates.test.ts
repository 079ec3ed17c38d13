import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import type { DailySalesRow, UserTotalsRow } from '../../../cli/demo/workload.ts';
import { createKafka } from '../../../core/kafka.ts';
import { waitForCaughtUp } from '../../../core/lag.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { aggregateDifferences, readerOf, rebuildRollup } from '../../../consumers/rollups/consistency.ts';
import { defaultOrderView, defaultRollups } from '../../../consumers/rollups/definition.ts';
import { canonicalKey, type ChangeEvent, type DynamoImage } from '../../../schemas/change-event.ts';
import { formatScaled } from '../../../schemas/decimal.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { queryRows, rollupSink, testClickHouse, testGroup } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { killHard, spawnEntry } from '../../harness/processes.ts';
import { idempotentProducer } from '../../harness/producer.ts';

/**
 * The aggregated rollups fed through the real Kafka: histories delivered with duplicates, reordering, a
 * snapshot overlapping the stream and double INSERTs; a crash between insert and progress; replays; a
 * re-snapshot sweep. Every result is compared with ground truth computed here from the scripted history.
 */

interface Order {
  day: string;
  category: string;
  user: string;
  cents: bigint;
}

/** A small deterministic generator, so that a failure can be run again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE_VERSION = 4421584500000000017450439091n;
const keysOf = (item: number): DynamoImage => ({ PK: { S: `ORDER#${item}` }, SK: { S: `ORDER#${item}` } });

function event(
  item: number,
  op: ChangeEvent['op'],
  version: bigint,
  order: Order | null,
  id = `${item}-${version}`,
): ChangeEvent {
  const keys = keysOf(item);
  return {
    op,
    eventId: id,
    table: 'orders',
    entity: 'order',
    version: version.toString(),
    keys,
    before: null,
    after: order && {
      ...keys,
      created_at: { S: `${order.day}T10:00:00Z` },
      category: { S: order.category },
      user_id: { S: order.user },
      total: { N: formatScaled(order.cents, 2) },
    },
    source: {
      kind: op === 'SNAPSHOT' ? 'SNAPSHOT' : 'DYNAMODB_STREAMS',
      region: 'us-east-1',
      table: 'orders',
      stream: 's',
      shardId: 'sh',
      sequenceNumber: version.toString(),
      approximateCreationTimeMicros: 1,
      userIdentity: null,
      ttlDelete: false,
    },
  };
}

function orderOf(next: () => number): Order {
  return {
    day: `2026-03-0${1 + Math.floor(next() * 5)}`,
    category: ['books', 'games', 'toys'][Math.floor(next() * 3)]!,
    user: `USER#${Math.floor(next() * 7)}`,
    cents: BigInt(Math.floor(next() * 10_000_000)) - 100n,
  };
}

/** Ground truth: each item's newest version, summed the way the rollups are defined. */
class Truth {
  readonly orders = new Map<number, { version: bigint; order: Order | null }>();

  see(item: number, version: bigint, order: Order | null): void {
    const current = this.orders.get(item);
    if (!current || version > current.version) this.orders.set(item, { version, order });
  }

  private totals(by: (order: Order) => string[]): { group: string[]; count: number; cents: bigint }[] {
    const groups = new Map<string, { group: string[]; count: number; cents: bigint }>();
    for (const { order } of this.orders.values()) {
      if (!order) continue;
      const group = by(order);
      const entry = groups.get(JSON.stringify(group)) ?? { group, count: 0, cents: 0n };
      entry.count++;
      entry.cents += order.cents;
      groups.set(JSON.stringify(group), entry);
    }
    return [...groups.values()].sort((a, b) => (JSON.stringify(a.group) < JSON.stringify(b.group) ? -1 : 1));
  }

  dailySales(): DailySalesRow[] {
    return this.totals((order) => [order.day, order.category]).map(({ group: [day, category], count, cents }) => ({
      day: day!,
      category: category!,
      order_count: String(count),
      revenue: formatScaled(cents, 2),
    }));
  }

  userTotals(): UserTotalsRow[] {
    return this.totals((order) => [order.user]).map(({ group: [user], count, cents }) => ({
      user_id: user!,
      order_count: String(count),
      total_spent: formatScaled(cents, 2),
    }));
  }
}

/**
 * Item histories as the pipeline delivers them: INSERT, MODIFYs (moving orders between days, categories
 * and users), REMOVE, re-INSERT; neighbouring versions swapped (Kinesis), events repeated (redelivery),
 * INSERTs doubled under another event id (moto), snapshot rows (version 0) beside the stream.
 */
function deliveries(items: number, seed: number, truth: Truth): ChangeEvent[] {
  const next = random(seed);
  const perItem: ChangeEvent[][] = [];
  for (let item = 0; item < items; item++) {
    const events: ChangeEvent[] = [];
    const versions = 1 + Math.floor(next() * 5);
    let version = BASE_VERSION + BigInt(item) * 100n;
    if (next() < 0.3) {
      const order = orderOf(next);
      events.push(event(item, 'SNAPSHOT', 0n, order));
      truth.see(item, 0n, order);
    }
    for (let index = 0; index < versions; index++) {
      version += 1n + BigInt(Math.floor(next() * 3));
      const remove = index > 0 && next() < 0.25;
      const order = remove ? null : orderOf(next);
      const op = remove ? 'REMOVE' : index === 0 ? 'INSERT' : 'MODIFY';
      events.push(event(item, op, version, order));
      if (op === 'INSERT' && next() < 0.5) events.push(event(item, op, version, order, `${item}-${version}-moto`));
      truth.see(item, version, order);
    }
    for (let index = 1; index < events.length; index++)
      if (next() < 0.3) [events[index - 1], events[index]] = [events[index]!, events[index - 1]!];
    for (let index = events.length - 1; index >= 0; index--) if (next() < 0.2) events.splice(index, 0, events[index]!);
    perItem.push(events);
  }
  // Items interleave; each item's own order is the one made above.
  const delivered: ChangeEvent[] = [];
  while (perItem.some((events) => events.length > 0)) {
    const pending = perItem.filter((events) => events.length > 0);
    delivered.push(pending[Math.floor(next() * pending.length)]!.shift()!);
  }
  return delivered;
}

interface Topic {
  prefix: string;
  topic: string;
  produce(events: ChangeEvent[]): Promise<number[]>;
  close(): Promise<void>;
}

/** A three-partition change topic; events are written keyed by their item, as the connector writes them. */
async function changeTopic(name: string): Promise<Topic> {
  const prefix = uniqueName(name);
  const topic = `${prefix}.orders.order`;
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: prefix });
  await ensureTopics(kafka, [topic, `${prefix}.dlq`], 3);
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const producer = idempotentProducer(kafka);
  await producer.connect();
  return {
    prefix,
    topic,
    async produce(events) {
      const partitions: number[] = [];
      for (let start = 0; start < events.length; start += 500) {
        const messages = await Promise.all(
          events
            .slice(start, start + 500)
            .map(async (change) => ({ key: canonicalKey(change.keys), value: await codec.encode(topic, change) })),
        );
        if (messages.length === 1)
          partitions.push(
            ...(await producer.send({ topic, acks: -1, messages })).map((metadata) => metadata.partition),
          );
        else await producer.send({ topic, acks: -1, messages });
      }
      return partitions;
    },
    close: () => producer.disconnect(),
  };
}

async function runGroupToEnd(
  t: TestContext,
  prefix: string,
  topic: string,
  clickhouse: ClickHouseClient,
  batchSize = 500,
): Promise<void> {
  const group = testGroup(prefix, 'rollups', [topic], rollupSink(prefix, clickhouse), { batchSize });
  await group.start();
  t.after(() => group.stop().catch(() => undefined));
  await waitForCaughtUp(
    createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: `${prefix}-lag` }),
    [`${prefix}-rollups`],
    topic,
    90_000,
  );
  await group.stop();
}

const read = async (clickhouse: ClickHouseClient) => ({
  dailySales: await queryRows<DailySalesRow>(
    clickhouse,
    'SELECT toString(day) AS day, category, order_count, revenue FROM daily_sales',
  ),
  userTotals: await queryRows<UserTotalsRow>(clickhouse, 'SELECT user_id, order_count, total_spent FROM user_totals'),
});

test('duplicates, reordering, a snapshot overlapping the stream and double INSERTs: the aggregates equal the ground truth, read from the aggregate projection', async (t) => {
  const truth = new Truth();
  const events = deliveries(400, 1, truth);
  const { prefix, topic, produce, close } = await changeTopic('ragg');
  t.after(close);
  await produce(events);
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  await runGroupToEnd(t, prefix, topic, clickhouse);

  assert.deepEqual(await read(clickhouse), { dailySales: truth.dailySales(), userTotals: truth.userTotals() });
  // The rollup is answered from the aggregate, also filtered by a dimension: ClickHouse refuses the query otherwise.
  const fromAggregate = 'SETTINGS force_optimize_projection = 1';
  const day = truth.dailySales()[0]!.day;
  assert.deepEqual(
    await queryRows(
      clickhouse,
      `SELECT toString(day) AS day, category, order_count, revenue FROM daily_sales WHERE day = '${day}' ${fromAggregate}`,
    ),
    truth.dailySales().filter((row) => row.day === day),
  );
  assert.deepEqual(
    await queryRows(
      clickhouse,
      `SELECT user_id, order_count, total_spent FROM user_totals WHERE user_id = 'USER#3' ${fromAggregate}`,
    ),
    truth.userTotals().filter((row) => row.user_id === 'USER#3'),
  );
  assert.deepEqual(
    await queryRows(
      clickhouse,
      'SELECT toTypeName(order_count) AS count, toTypeName(revenue) AS revenue FROM daily_sales LIMIT 1',
    ),
    [{ count: 'UInt64', revenue: 'Decimal(76, 2)' }],
  );

  // Merges collapse taken-back states and rebuild the projection from what is left: the sums stay exact.
  await clickhouse.command({ query: 'OPTIMIZE TABLE rollups_order_items FINAL' });
  assert.deepEqual(await read(clickhouse), { dailySales: truth.dailySales(), userTotals: truth.userTotals() });
  assert.deepEqual(await aggregateDifferences(readerOf(clickhouse), defaultRollups[0]!, defaultOrderView), []);
});

test('a crash between the insert and the progress, replayed with other batch boundaries, then a replay by a new group: nothing counted twice', async (t) => {
  const truth = new Truth();
  const events = deliveries(600, 2, truth);
  const { prefix, topic, produce, close } = await changeTopic('rcrash');
  t.after(close);
  await produce(events);
  const { clickhouse, path } = await testClickHouse();
  await clickhouse.close();

  // A consumer process killed at its third apply, after the insert and before the progress record.
  const consumer = spawnEntry(new URL('../../harness/consumer-process.ts', import.meta.url), {
    SHARDLINE_TEST_PREFIX: prefix,
    SHARDLINE_TEST_TOPIC: topic,
    SHARDLINE_TEST_SINKS: 'rollups',
    SHARDLINE_TEST_CLICKHOUSE_PATH: path,
    SHARDLINE_FAULT_POINT: 'rollups.after-insert',
    SHARDLINE_FAULT_AFTER: '3',
  });
  t.after(() => killHard(consumer));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    consumer.once('exit', (_code, exitSignal) => resolve(exitSignal)),
  );
  assert.equal(signal, 'SIGKILL', 'the consumer died at the fault point');

  const reopened = (await testClickHouse(path)).clickhouse;
  t.after(() => reopened.close());
  // The same group resumes from its stored progress in batches of 7 records: other boundaries than before the crash.
  await runGroupToEnd(t, prefix, topic, reopened, 7);
  const afterCrash = await read(reopened);
  assert.deepEqual(afterCrash, { dailySales: truth.dailySales(), userTotals: truth.userTotals() });

  const replay = `${prefix}-replay`;
  await runGroupToEnd(t, replay, topic, reopened, 50);
  assert.deepEqual(await read(reopened), afterCrash);
});

test('a re-snapshot sweep deletes, partition by partition, what the re-scan did not find; late changes below its floor stay uncounted', async (t) => {
  const truth = new Truth();
  const before = deliveries(300, 3, truth);
  const { prefix, topic, produce, close } = await changeTopic('rsweep');
  t.after(close);
  // The re-scan finds two items of three, at its version; the sweep closes it, on one partition as the connector writes it.
  const floor = BASE_VERSION + 1_000_000n;
  const next = random(33);
  const rescanned = [...truth.orders.keys()].filter(() => next() < 0.66);
  const rereads = rescanned.map((item) => {
    const order = orderOf(next);
    truth.see(item, floor, order);
    return event(item, 'SNAPSHOT', floor, order);
  });
  for (const item of truth.orders.keys()) if (!rescanned.includes(item)) truth.see(item, floor - 1n, null);
  const sweep: ChangeEvent = { ...event(0, 'SWEEP', floor, null), keys: {}, eventId: 'sweep' };
  await produce([...before, ...rereads, sweep]);
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  await runGroupToEnd(t, prefix, topic, clickhouse);

  // Late records below the floor: a swept item's, and an item never seen. Then changes after the re-snapshot,
  // one on each partition at least (a partition deletes its swept items when it applies its next batch).
  const swept = [...truth.orders.keys()].find((item) => !rescanned.includes(item))!;
  await produce([
    event(swept, 'MODIFY', floor - 1n, orderOf(next)),
    event(10_000, 'INSERT', floor - 5n, orderOf(next)),
  ]);
  const partitions = new Set<number>();
  for (const item of rescanned) {
    const order = orderOf(next);
    truth.see(item, floor + 10n, order);
    for (const partition of await produce([event(item, 'MODIFY', floor + 10n, order)])) partitions.add(partition);
    if (partitions.size === 3) break;
  }
  await runGroupToEnd(t, prefix, topic, clickhouse);
  assert.deepEqual(await read(clickhouse), { dailySales: truth.dailySales(), userTotals: truth.userTotals() });
  assert.deepEqual(await aggregateDifferences(readerOf(clickhouse), defaultRollups[1]!, defaultOrderView), []);
});

test('an aggregate that disagrees with the state is found, and rebuilt from the state', async (t) => {
  const truth = new Truth();
  const { prefix, topic, produce, close } = await changeTopic('rbuild');
  t.after(close);
  await produce(deliveries(200, 4, truth));
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  await runGroupToEnd(t, prefix, topic, clickhouse);
  const [dailySales] = defaultRollups;

  // What a member writing after it lost its partition would leave: an item's new state added twice.
  const [taken] = await queryRows<Record<string, unknown>>(
    clickhouse,
    `SELECT * FROM rollups_order_items WHERE sign = 1 AND is_deleted = 0
    AND (table, item_key, version) IN (SELECT table, item_key, version FROM rollups_order_items GROUP BY table, item_key, version, is_deleted HAVING sum(sign) > 0) LIMIT 1`,
  );
  await clickhouse.insert({ table: 'rollups_order_items', values: [taken!], format: 'JSONEachRow' });
  const differences = await aggregateDifferences(readerOf(clickhouse), dailySales!, defaultOrderView);
  assert.equal(differences.length, 1);
  const group = { day: String(taken!.daily_sales__d_day), category: String(taken!.daily_sales__d_category) };
  assert.deepEqual(differences[0]!.group, group);
  const expected = truth.dailySales().find((row) => row.day === group.day && row.category === group.category)!;
  assert.deepEqual(differences[0]!.state, { order_count: expected.order_count, revenue: expected.revenue });
  assert.equal(differences[0]!.aggregate!.order_count, String(Number(expected.order_count) + 1));

  const { items } = await rebuildRollup(clickhouse, dailySales!);
  assert.equal(items, truth.orders.size);
  assert.deepEqual(await aggregateDifferences(readerOf(clickhouse), dailySales!, defaultOrderView), []);
  assert.deepEqual((await read(clickhouse)).dailySales, truth.dailySales());
  // The rebuilt table goes on taking changes (its layout is the one the sink opens).
  await produce([
    event(1, 'MODIFY', BASE_VERSION + 10_000_000n, {
      day: '2026-03-09',
      category: 'books',
      user: 'USER#1',
      cents: 123n,
    }),
  ]);
  truth.see(1, BASE_VERSION + 10_000_000n, { day: '2026-03-09', category: 'books', user: 'USER#1', cents: 123n });
  await runGroupToEnd(t, prefix, topic, clickhouse);
  assert.deepEqual(await read(clickhouse), { dailySales: truth.dailySales(), userTotals: truth.userTotals() });
});
