import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { isDeadLetter } from '../../core/dead-letter.ts';
import { readToEnd } from '../../core/read-to-end.ts';
import type { OrdersWorkload } from '../../cli/demo/workload.ts';
import { formatScaled, normalizeDecimal, toScaled } from '../../schemas/decimal.ts';
import { cachedItems, searchAll } from '../harness/stores.ts';
import type { RunNames } from './config.ts';
import type { KinesisWorkload, PoisonOrder } from './kinesis-workload.ts';
import { committedCopies, readCommittedEvents, type CommittedCopy, type CommittedEvent } from './change-copies.ts';
import type { ChaosWorkload } from './workload.ts';

const bin = fileURLToPath(new URL('../../bin/shardline.js', import.meta.url));

/** One item or row a store holds differently from the ground truth. */
export interface Difference {
  kind: 'lost' | 'doubled' | 'wrong';
  store: string;
  item: string;
  expected: unknown;
  actual: unknown;
}

export interface DeadLetterSummary {
  expected: number;
  found: number;
  /** Dead letters that are not an injected poison record refused by a group that must refuse it. */
  unexpected: { group: string; key: string; reason: string }[];
  /** Expected ones missing, or present more than once. */
  missing: { group: string; key: string }[];
  doubled: { group: string; key: string; copies: number }[];
}

export interface Verification {
  differences: Difference[];
  /** Rows and items compared per store, so that a pass over empty stores cannot go unnoticed. */
  compared: Record<string, number>;
  deadLetters: DeadLetterSummary;
  /** The change topics as a read_committed reader gets them, and the events in them more than once (the connector's own exactly once). */
  committedEvents: CommittedEvent[];
  changeCopies: CommittedCopy[];
}

interface OrderFields { category: unknown; status: unknown; total: unknown; user_id: unknown }

/** Runs `shardline query --json` on a stopped process's embedded ClickHouse directory, as a user would. */
async function queryDirectory(configPath: string, clickhousePath: string, sql: string): Promise<Record<string, string>[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [bin, '-c', configPath, 'query', '--json', sql], {
    env: { ...process.env, SHARDLINE_LOG_LEVEL: 'warn', SHARDLINE_CONFIG__clickhouse__path: clickhousePath, SHARDLINE_CONFIG__http__port: '1' },
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, string>[];
}

/** Compares rows keyed by `keyOf`; a row with a higher count than expected is doubled, a lower one lost. */
function compareRows(store: string, expected: Record<string, string>[], actual: Record<string, string>[], keyOf: (row: Record<string, string>) => string, countOf: (row: Record<string, string>) => number): Difference[] {
  const differences: Difference[] = [];
  const actualByKey = new Map(actual.map((row) => [keyOf(row), row]));
  for (const row of expected) {
    const found = actualByKey.get(keyOf(row));
    actualByKey.delete(keyOf(row));
    if (found === undefined) differences.push({ kind: 'lost', store, item: keyOf(row), expected: row, actual: null });
    else if (JSON.stringify(found) !== JSON.stringify(row)) {
      const kind = countOf(found) > countOf(row) ? 'doubled' : countOf(found) < countOf(row) ? 'lost' : 'wrong';
      differences.push({ kind, store, item: keyOf(row), expected: row, actual: found });
    }
  }
  for (const [key, row] of actualByKey) differences.push({ kind: 'wrong', store, item: key, expected: null, actual: row });
  return differences;
}

/** Compares documents or cache entries with the orders expected in them. */
function compareItems(store: string, expected: Map<string, OrderFields>, actual: Map<string, OrderFields>): Difference[] {
  const differences: Difference[] = [];
  for (const [key, fields] of expected) {
    const found = actual.get(key);
    if (found === undefined) differences.push({ kind: 'lost', store, item: key, expected: fields, actual: null });
    else if (JSON.stringify(found) !== JSON.stringify(fields)) differences.push({ kind: 'wrong', store, item: key, expected: fields, actual: found });
  }
  for (const [key, found] of actual) if (!expected.has(key)) differences.push({ kind: 'wrong', store, item: key, expected: null, actual: found });
  return differences;
}

const pick = (source: Record<string, unknown>, total: unknown): OrderFields => ({ category: source.category, status: source.status, total, user_id: source.user_id });

/** The live orders as the search documents and cache entries must show them (amounts as exact two-place text). */
function expectedOrders(orders: OrdersWorkload): Map<string, OrderFields> {
  return new Map([...orders.orders.values()].map((order) => [
    `PK=S:ORDER#${order.id}|SK=S:ORDER#${order.id}`,
    { category: order.category, status: order.status, total: formatScaled(order.cents, 2), user_id: order.userId },
  ]));
}

/** Rollup rows of both tables added up: one rollup holds the orders of every table. */
function addRows<Row extends Record<string, string>>(rows: Row[], keyOf: (row: Row) => string, count: keyof Row, money: keyof Row): Row[] {
  const sums = new Map<string, Row>();
  for (const row of rows) {
    const sum = sums.get(keyOf(row));
    if (!sum) sums.set(keyOf(row), { ...row });
    else sums.set(keyOf(row), { ...sum, [count]: String(Number(sum[count]) + Number(row[count])), [money]: formatScaled(toScaled(sum[money]!, 2) + toScaled(row[money]!, 2), 2) });
  }
  return [...sums.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
}

export interface VerifyInput {
  names: RunNames;
  configPath: string;
  rollupsPath: string;
  auditPath: string;
  kafka: Kafka;
  workload: ChaosWorkload;
  kinesis: KinesisWorkload;
  /** Canonical keys of the Streams table's changes that a trim took before the connector read them, one per change. */
  trimmedKeys: string[];
}

/**
 * Every store against the ground truth from the workloads' own records; call with every process stopped.
 * Per table: audit entries, search documents and cache entries; the rollups hold the orders of both.
 */
export async function verifyStores({ names, configPath, rollupsPath, auditPath, kafka, workload, kinesis, trimmedKeys }: VerifyInput): Promise<Verification> {
  const differences: Difference[] = [];
  const both = [workload.orders, kinesis.orders];

  const dailySales = await queryDirectory(configPath, rollupsPath, 'SELECT day, category, order_count, revenue FROM daily_sales ORDER BY day, category');
  const salesKey = (row: Record<string, string>) => `${row.day}/${row.category}`;
  const expectedSales = addRows(both.flatMap((orders) => orders.expectedDailySales() as unknown as Record<string, string>[]), salesKey, 'order_count', 'revenue');
  differences.push(...compareRows('rollups.daily_sales', expectedSales, dailySales, salesKey, (row) => Number(row.order_count)));
  const userTotals = await queryDirectory(configPath, rollupsPath, 'SELECT user_id, order_count, total_spent FROM user_totals ORDER BY user_id');
  const userKey = (row: Record<string, string>) => row.user_id!;
  const expectedTotals = addRows(both.flatMap((orders) => orders.expectedUserTotals() as unknown as Record<string, string>[]), userKey, 'order_count', 'total_spent');
  differences.push(...compareRows('rollups.user_totals', expectedTotals, userTotals, userKey, (row) => Number(row.order_count)));

  // Streams table: one audit entry per change the stream delivered, counted by item (moto names the events):
  // the workload's writes, less those a trim took before the connector read them (the re-snapshot repairs
  // their items in the other stores; its rows are observations, which the audit leaves out).
  const streamsAudit = await queryDirectory(configPath, auditPath, `SELECT entity_key, toString(count()) AS entries FROM ${names.auditTable} FINAL WHERE table = '${names.streams.table}' GROUP BY entity_key ORDER BY entity_key`);
  const delivered = new Map(workload.changesByItem);
  for (const key of trimmedKeys) delivered.set(key, (delivered.get(key) ?? 0) - 1);
  const expectedStreamsAudit = [...delivered].filter(([, count]) => count !== 0).map(([key, count]) => ({ entity_key: key, entries: String(count) }));
  differences.push(...compareRows('audit.streams', expectedStreamsAudit, streamsAudit, (row) => row.entity_key!, (row) => Number(row.entries)));
  // Kinesis table: exactly one entry per distinct change, by its event id (copies and swaps leave none extra).
  const kinesisAudit = await queryDirectory(configPath, auditPath, `SELECT event_id, any(entity_key) AS entity_key, toString(count()) AS entries FROM ${names.auditTable} FINAL WHERE table = '${names.kinesis.table}' GROUP BY event_id ORDER BY event_id`);
  const expectedKinesisAudit = [...kinesis.changesByItem].flatMap(([key, ids]) => ids.map((id) => ({ event_id: id, entity_key: key, entries: '1' })));
  differences.push(...compareRows('audit.kinesis', expectedKinesisAudit, kinesisAudit, (row) => row.event_id!, (row) => Number(row.entries)));

  const documents = await searchAll(names.searchAlias);
  const cachedByKey = await cachedItems(names.prefix);
  const compared: Record<string, number> = {
    'rollups.daily_sales': dailySales.length, 'rollups.user_totals': userTotals.length,
    'audit.streams items': streamsAudit.length, 'audit.kinesis changes': kinesisAudit.length,
  };
  for (const [kind, table, orders, poison] of [['streams', names.streams.table, workload.orders, []], ['kinesis', names.kinesis.table, kinesis.orders, kinesis.poison]] as const) {
    const live = expectedOrders(orders);
    const found = new Map([...documents].filter(([id]) => id.startsWith(`${table}:`)).map(([id, source]) => [id.slice(table.length + 1), pick(source, source.total)]));
    differences.push(...compareItems(`search.${kind}`, live, found));
    // The cache keeps every item as it is, the poison orders too (their totals as written).
    const cachedExpected = new Map(live);
    for (const order of poison) cachedExpected.set(order.key, order.fields);
    const cached = new Map<string, OrderFields>();
    const cachePrefix = `${names.prefix}:{${table}}:`;
    for (const [key, hash] of cachedByKey) {
      if (!key.startsWith(cachePrefix) || hash.doc === undefined) continue;
      const doc = JSON.parse(hash.doc) as Record<string, unknown>;
      const total = /^-?\d+(\.\d+)?$/.test(String(doc.total)) ? normalizeDecimal(String(doc.total), 2) : doc.total;
      cached.set(key.slice(cachePrefix.length), pick(doc, total));
    }
    differences.push(...compareItems(`cache.${kind}`, cachedExpected, cached));
    compared[`search.${kind} documents`] = found.size;
    compared[`cache.${kind} entries`] = cached.size;
  }
  const committedEvents = await readCommittedEvents(kafka, names);
  compared['change events'] = committedEvents.length;
  return { differences, compared, deadLetters: await checkDeadLetters(kafka, names, kinesis.poison), committedEvents, changeCopies: committedCopies(committedEvents) };
}

/** The dead-letter topic must hold each poison order once per group that refuses it (rollups, search), and nothing else. */
async function checkDeadLetters(kafka: Kafka, names: RunNames, poison: PoisonOrder[]): Promise<DeadLetterSummary> {
  // Read committed to the end: transaction markers and aborted barriers take offsets but are no letters.
  const messages: { message: KafkaMessage }[] = [];
  // Just after a broker restart its metadata can lack the topic for a while (UNKNOWN_TOPIC_OR_PARTITION): retried.
  for (let attempt = 1; ; attempt++) {
    try {
      messages.length = 0;
      await readToEnd(kafka, names.deadLetter, 'chaos-dead-letters', (_partition, message) => {
        if (isDeadLetter(message)) messages.push({ message });
      });
      break;
    } catch (error) {
      if (attempt >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    }
  }
  const refusing = [names.groups.rollups, names.groups.search];
  const expected = new Set(poison.flatMap((poison) => refusing.map((group) => `${group}\u0000${poison.key}`)));
  const copies = new Map<string, number>();
  const unexpected: DeadLetterSummary['unexpected'] = [];
  for (const { message } of messages) {
    const group = message.headers?.shardline_dlq_stage?.toString() ?? '';
    const key = message.key?.toString() ?? '';
    const reason = message.headers?.shardline_dlq_reason?.toString() ?? '';
    const id = `${group}\u0000${key}`;
    if (expected.has(id) && /total/.test(reason)) copies.set(id, (copies.get(id) ?? 0) + 1);
    else unexpected.push({ group, key, reason });
  }
  const split = (id: string) => ({ group: id.split('\u0000')[0]!, key: id.split('\u0000')[1]! });
  return {
    expected: expected.size,
    found: messages.length,
    unexpected,
    missing: [...expected].filter((id) => !copies.has(id)).map(split),
    doubled: [...copies].filter(([, count]) => count > 1).map(([id, count]) => ({ ...split(id), copies: count })),
  };
}
