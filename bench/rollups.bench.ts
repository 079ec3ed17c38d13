import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { connectClickHouse, type ClickHouseTarget } from '../consumers/clickhouse/client.ts';
import { defaultRollups } from '../consumers/rollups/definition.ts';
import { dimensionColumn, itemsTable, measureColumn } from '../consumers/rollups/items-table.ts';
import { stateRowsQuery } from '../consumers/rollups/state.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { median, percentile, resultOfChild, round, type BenchResult } from './measure.ts';
import type { RollupLoad } from './rollup-load-process.ts';

/** Items applied before the queries; `--items 10000000` for the 10M figure. */
const DEFAULT_ITEMS = 1_000_000;
/** Records per apply: large batches keep loading fast; each insert stays one block. */
const BATCH = 50_000;
/** Rounds of timed queries; each figure is the median of the rounds' (the machine's load moves between them). */
const ROUNDS = 5;
const QUERIES_PER_ROUND = 200;
const BASELINE_QUERIES = 20;
const WHOLE = 'SELECT * FROM daily_sales';
const ONE_DAY = "SELECT * FROM daily_sales WHERE day = '2026-11-07'";

/** `--items N` from the part's arguments. */
function itemsOf(args: string[]): number {
  const at = args.indexOf('--items');
  if (at < 0) return DEFAULT_ITEMS;
  const items = Number(args[at + 1]);
  if (!Number.isSafeInteger(items) || items < BATCH)
    throw new Error(`--items needs a whole number of at least ${BATCH}, got ${args[at + 1]}`);
  return items;
}

async function timed(clickhouse: ClickHouseClient, query: string): Promise<number> {
  const started = performance.now();
  await (await clickhouse.query({ query, format: 'JSONEachRow' })).json();
  return performance.now() - started;
}

async function rowsOf<T>(clickhouse: ClickHouseClient, query: string): Promise<T[]> {
  return (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();
}

async function mergesSettled(clickhouse: ClickHouseClient, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [merges] = await rowsOf<{ running: string }>(
      clickhouse,
      'SELECT count() AS running FROM system.merges WHERE database = currentDatabase()',
    );
    if (merges?.running === '0') return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** What the query plan reads: the part it reads from (a projection's name) and the granules selected by the key, e.g. `p_daily_sales, granules 5/5`. */
async function planOf(clickhouse: ClickHouseClient, query: string): Promise<string> {
  const plan = (await rowsOf<{ explain: string }>(clickhouse, `EXPLAIN indexes = 1 ${query}`))
    .map((row) => row.explain)
    .join('\n');
  const source = /ReadFromMergeTree \(([^)]*)\)/.exec(plan)?.[1] ?? 'table';
  // The last Granules line is the one after every index.
  const granules = [...plan.matchAll(/Granules: (\d+(?:\/\d+)?)/g)].at(-1)?.[1] ?? '?';
  return `${source}, granules ${granules}`;
}

/**
 * The same state as the layout before aggregates held it (the newest row per item in a
 * ReplacingMergeTree), with that layout's view: the baseline the aggregate is compared with.
 */
async function perItemView(clickhouse: ClickHouseClient): Promise<string> {
  const rollup = defaultRollups[0]!;
  await clickhouse.command({
    query:
      'CREATE TABLE baseline_items (table String, item_key String, version UInt256, is_deleted UInt8, day Date, category String, m_revenue Decimal(38, 2)) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (table, item_key)',
  });
  const [day, category] = rollup.dimensions.map((dimension) => dimensionColumn(rollup, dimension));
  const revenue = measureColumn(rollup, rollup.measures[1]!);
  await clickhouse.command({
    query: `INSERT INTO baseline_items SELECT table, item_key, version, is_deleted, ${day}, ${category}, ${revenue} FROM (${stateRowsQuery(itemsTable(rollup), [day!, category!, revenue])})`,
  });
  const floors = "(SELECT table, max(version) AS floor FROM rollup_sweeps WHERE entity = 'order' GROUP BY table)";
  await clickhouse.command({
    query:
      'CREATE VIEW baseline_daily_sales AS SELECT day, category, count() AS order_count, sum(toDecimal256(m_revenue, 2)) AS revenue FROM baseline_items AS items FINAL ' +
      `LEFT JOIN ${floors} AS sweeps ON items.table = sweeps.table WHERE is_deleted = 0 AND version >= sweeps.floor GROUP BY day, category ORDER BY day, category`,
  });
  return 'SELECT * FROM baseline_daily_sales';
}

/** Timed rounds of the whole rollup and one day, alternating, after a few queries to warm up: each round's p50 and p99, and the load average as it began. */
async function rounds(
  clickhouse: ClickHouseClient,
): Promise<{ whole: number[][]; oneDay: number[][]; loads: number[] }> {
  for (let warmUp = 0; warmUp < 10; warmUp++) {
    await timed(clickhouse, WHOLE);
    await timed(clickhouse, ONE_DAY);
  }
  const result = { whole: [] as number[][], oneDay: [] as number[][], loads: [] as number[] };
  for (let turn = 0; turn < ROUNDS; turn++) {
    result.loads.push(loadavg()[0]!);
    const whole: number[] = [];
    const oneDay: number[] = [];
    for (let query = 0; query < QUERIES_PER_ROUND; query++) {
      whole.push(await timed(clickhouse, WHOLE));
      oneDay.push(await timed(clickhouse, ONE_DAY));
    }
    result.whole.push(whole);
    result.oneDay.push(oneDay);
  }
  return result;
}

/**
 * `npm run bench rollups [--items N]`: `daily_sales` answered from the aggregate over N items applied through
 * the sink (in a process of its own), timed from another process once the merges the load started are done,
 * as a user would see it; against the per-item view of the layout before it over the same state.
 */
export async function benchRollups(endpoints: Endpoints, run: string, args: string[]): Promise<BenchResult> {
  const items = itemsOf(args);
  const directory = endpoints.clickhouseUrl ? undefined : mkdtempSync(join(tmpdir(), 'shardline-bench-rollups-'));
  const target: ClickHouseTarget = directory
    ? { kind: 'embedded', path: directory }
    : { kind: 'server', url: endpoints.clickhouseUrl! };
  const loadStarted = performance.now();
  const load = await resultOfChild<{ rate: number; peakRssMb: number }>(
    fileURLToPath(new URL('./rollup-load-process.ts', import.meta.url)),
    [],
    { target, group: `bench-${run}`, items, batch: BATCH } satisfies RollupLoad,
  );
  const clickhouse = await connectClickHouse(target);
  await mergesSettled(clickhouse);
  const [parts] = await rowsOf<{ parts: string }>(
    clickhouse,
    `SELECT count() AS parts FROM system.parts WHERE database = currentDatabase() AND table = '${itemsTable(defaultRollups[0]!)}' AND active`,
  );
  const [wholePlan, oneDayPlan] = [await planOf(clickhouse, WHOLE), await planOf(clickhouse, ONE_DAY)];
  const timings = await rounds(clickhouse);
  const endLoad = loadavg()[0]!;
  const baselineQuery = await perItemView(clickhouse);
  const baseline: number[] = [];
  for (let query = 0; query < BASELINE_QUERIES; query++) baseline.push(await timed(clickhouse, baselineQuery));
  await clickhouse.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
  const minutes = round((performance.now() - loadStarted) / 60_000, 1);

  const p = (values: number[], fraction: number): number => round(percentile(values, fraction), 1);
  /** The median over the rounds of each round's percentile. */
  const overRounds = (perRound: number[][], fraction: number): number =>
    round(median(perRound.map((values) => percentile(values, fraction))), 1);
  const spread = (perRound: number[][], fraction: number): string => {
    const values = perRound.map((values) => percentile(values, fraction));
    return `${round(Math.min(...values), 1)}–${round(Math.max(...values), 1)}`;
  };
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  const allWhole = timings.whole.flat();
  const count = items.toLocaleString('en-US');
  return {
    name:
      `rollup query, ${count} items: ${WHOLE} over ${count} items applied through the sink in its own process (${items / BATCH} applies of ${BATCH.toLocaleString('en-US')} records at ` +
      `${Math.round(load.rate)} records/s), queried from another once merges settled (${parts?.parts} parts; read from ${wholePlan}); p50/p99: medians over ${ROUNDS} rounds of ` +
      `${QUERIES_PER_ROUND} queries (round p99 ${spread(timings.whole, 0.99)} ms; load average ${round(Math.min(...timings.loads, endLoad), 1)}–${round(Math.max(...timings.loads, endLoad), 1)}); ` +
      `one day (${ONE_DAY.replace(`${WHOLE} `, '')}; read from ${oneDayPlan}): p50 ${overRounds(timings.oneDay, 0.5)}, p99 ${overRounds(timings.oneDay, 0.99)} ms (round p99 ${spread(timings.oneDay, 0.99)}) ` +
      `(vs the per-item view over the same state: p50 ${p(baseline, 0.5)}, p99 ${p(baseline, 0.99)} ms over ${BASELINE_QUERIES} queries; rates are queries/s; peak RSS: the load's process; ${minutes} min in all)`,
    rate: round(1000 / mean(allWhole), 0),
    baseline_rate: round(1000 / mean(baseline), 1),
    ratio: round(mean(baseline) / mean(allWhole), 0),
    p50_ms: overRounds(timings.whole, 0.5),
    p99_ms: overRounds(timings.whole, 0.99),
    peak_rss_mb: load.peakRssMb,
  };
}
