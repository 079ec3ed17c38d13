import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { isDeadLetter } from '../../core/dead-letter.ts';
import { readToEnd } from '../../core/read-to-end.ts';
import { formatScaled, normalizeDecimal } from '../../schemas/decimal.ts';
import { cachedItems, searchAll } from '../harness/stores.ts';
import type { RunNames } from './config.ts';
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
function expectedOrders(workload: ChaosWorkload): Map<string, OrderFields> {
  return new Map([...workload.orders.orders.values()].map((order) => [
    `PK=S:ORDER#${order.id}|SK=S:ORDER#${order.id}`,
    { category: order.category, status: order.status, total: formatScaled(order.cents, 2), user_id: order.userId },
  ]));
}

export interface VerifyInput {
  names: RunNames;
  configPath: string;
  rollupsPath: string;
  auditPath: string;
  kafka: Kafka;
  workload: ChaosWorkload;
}

/** Every store against the ground truth from the workload's own record; call with every process stopped. */
export async function verifyStores({ names, configPath, rollupsPath, auditPath, kafka, workload }: VerifyInput): Promise<Verification> {
  const { orders } = workload;
  const differences: Difference[] = [];

  const dailySales = await queryDirectory(configPath, rollupsPath, 'SELECT day, category, order_count, revenue FROM daily_sales ORDER BY day, category');
  differences.push(...compareRows('rollups.daily_sales', orders.expectedDailySales() as unknown as Record<string, string>[], dailySales, (row) => `${row.day}/${row.category}`, (row) => Number(row.order_count)));
  const userTotals = await queryDirectory(configPath, rollupsPath, 'SELECT user_id, order_count, total_spent FROM user_totals ORDER BY user_id');
  differences.push(...compareRows('rollups.user_totals', orders.expectedUserTotals() as unknown as Record<string, string>[], userTotals, (row) => row.user_id!, (row) => Number(row.order_count)));

  // One audit entry per change, counted by item: the workload counted its writes per item.
  const audited = await queryDirectory(configPath, auditPath, `SELECT entity_key, toString(count()) AS entries FROM ${names.auditTable} FINAL GROUP BY entity_key ORDER BY entity_key`);
  const expectedAudit = [...workload.changesByItem].map(([key, count]) => ({ entity_key: key, entries: String(count) }));
  differences.push(...compareRows('audit', expectedAudit, audited, (row) => row.entity_key!, (row) => Number(row.entries)));

  const live = expectedOrders(workload);
  const documents = await searchAll(names.searchAlias);
  const prefixLength = names.table.length + 1;
  differences.push(...compareItems('search', live, new Map([...documents].map(([id, source]) => [id.slice(prefixLength), pick(source, source.total)]))));

  // The cache keeps every item as it is, the poison orders too (their totals as written).
  const cachedExpected = new Map(live);
  for (const poison of workload.poison) cachedExpected.set(poison.key, poison.fields);
  const cached = new Map<string, OrderFields>();
  const cachePrefix = `${names.prefix}:{${names.table}}:`;
  for (const [key, hash] of await cachedItems(names.prefix)) {
    if (hash.doc === undefined) continue;
    const doc = JSON.parse(hash.doc) as Record<string, unknown>;
    const total = /^-?\d+(\.\d+)?$/.test(String(doc.total)) ? normalizeDecimal(String(doc.total), 2) : doc.total;
    cached.set(key.slice(cachePrefix.length), pick(doc, total));
  }
  differences.push(...compareItems('cache', cachedExpected, cached));

  const compared = {
    'rollups.daily_sales': dailySales.length, 'rollups.user_totals': userTotals.length, 'audit items': audited.length,
    'search documents': documents.size, 'cache entries': cached.size,
  };
  return { differences, compared, deadLetters: await checkDeadLetters(kafka, names, workload) };
}

/** The dead-letter topic must hold each poison order once per group that refuses it (rollups, search), and nothing else. */
async function checkDeadLetters(kafka: Kafka, names: RunNames, workload: ChaosWorkload): Promise<DeadLetterSummary> {
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
  const expected = new Set(workload.poison.flatMap((poison) => refusing.map((group) => `${group}\u0000${poison.key}`)));
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
