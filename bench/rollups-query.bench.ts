import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { connectClickHouse } from '../consumers/clickhouse/client.ts';
import { defaultOrderView, defaultRollups } from '../consumers/rollups/definition.ts';
import { RollupSink } from '../consumers/rollups/rollup-sink.ts';
import { dimensionColumn, itemsTable, measureColumn } from '../consumers/rollups/items-table.ts';
import { stateRowsQuery } from '../consumers/rollups/state.ts';
import type { SinkBatch } from '../consumers/runtime/sink.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { percentile, rateOf, round, withPeakRss, type BenchResult } from './measure.ts';
import { orderEvents } from './orders.ts';

/** Items applied before the queries (SHARDLINE_BENCH_ROLLUP_ITEMS overrides, e.g. 10000000). */
const ITEMS = Number(process.env.SHARDLINE_BENCH_ROLLUP_ITEMS ?? 1_000_000);
/** Records per apply: large batches keep loading fast; each rollup's insert stays one block. */
const BATCH = 50_000;
const QUERIES = 300;
const BASELINE_QUERIES = 20;

function orderBatch(first: number, count: number): SinkBatch {
  const records = orderEvents(count, first).map(({ key, event }, offset) => ({ offset: String(first + offset), key, event }));
  return { topic: 'bench.orders.order', partition: 0, records, nextOffset: String(first + count) };
}

async function timings(clickhouse: ClickHouseClient, query: string, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await (await clickhouse.query({ query, format: 'JSONEachRow' })).json();
    times.push(performance.now() - started);
  }
  return times;
}

async function mergesSettled(clickhouse: ClickHouseClient, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [merges] = await (await clickhouse.query({ query: 'SELECT count() AS running FROM system.merges WHERE database = currentDatabase()', format: 'JSONEachRow' })).json<{ running: string }>();
    if (merges?.running === '0') return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Applies ITEMS items through a sink of its own, gone once they are applied: the states it kept in memory
 * are then garbage, not a heap that the timed queries would share.
 */
async function load(clickhouse: ClickHouseClient, run: string): Promise<number> {
  const sink = new RollupSink({ group: `bench-${run}`, clickhouse, rollups: defaultRollups, views: { order: defaultOrderView } });
  await sink.open();
  const rate = await rateOf(ITEMS, async () => {
    for (let first = 0; first < ITEMS; first += BATCH) await sink.apply(orderBatch(first, Math.min(BATCH, ITEMS - first)), async () => {});
  });
  await sink.close();
  return rate;
}

/**
 * The same state as the layout before aggregates held it (the newest row per item in a
 * ReplacingMergeTree), with that layout's view: the baseline the aggregate is compared with.
 */
async function perItemView(clickhouse: ClickHouseClient): Promise<string> {
  const rollup = defaultRollups[0]!;
  await clickhouse.command({ query: 'CREATE TABLE baseline_items (table String, item_key String, version UInt256, is_deleted UInt8, day Date, category String, m_revenue Decimal(38, 2)) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (table, item_key)' });
  const [day, category] = rollup.dimensions.map((dimension) => dimensionColumn(rollup, dimension));
  const revenue = measureColumn(rollup, rollup.measures[1]!);
  await clickhouse.command({ query: `INSERT INTO baseline_items SELECT table, item_key, version, is_deleted, ${day}, ${category}, ${revenue} FROM (${stateRowsQuery(itemsTable(rollup), [day!, category!, revenue])})` });
  const floors = "(SELECT table, max(version) AS floor FROM rollup_sweeps WHERE entity = 'order' GROUP BY table)";
  await clickhouse.command({
    query: 'CREATE VIEW baseline_daily_sales AS SELECT day, category, count() AS order_count, sum(toDecimal256(m_revenue, 2)) AS revenue FROM baseline_items AS items FINAL '
      + `LEFT JOIN ${floors} AS sweeps ON items.table = sweeps.table WHERE is_deleted = 0 AND version >= sweeps.floor GROUP BY day, category ORDER BY day, category`,
  });
  return 'baseline_daily_sales';
}

/**
 * `daily_sales` answered from the aggregate over ITEMS items applied through the sink, against the
 * per-item view of the layout before it over the same state; the apply rate of the load is reported too.
 */
export async function benchRollupsQuery(endpoints: Endpoints, run: string): Promise<BenchResult> {
  const clickhouse = await connectClickHouse(endpoints.clickhouseUrl ? { kind: 'server', url: endpoints.clickhouseUrl } : { kind: 'embedded', path: mkdtempSync(join(tmpdir(), 'shardline-bench-rq-')) });
  const { value: applyRate, peakRssMb } = await withPeakRss(() => load(clickhouse, run));
  const [parts] = await (await clickhouse.query({ query: `SELECT count() AS parts FROM system.parts WHERE database = currentDatabase() AND table = '${itemsTable(defaultRollups[0]!)}' AND active`, format: 'JSONEachRow' })).json<{ parts: string }>();

  // Measured once the merges the load started are done, after a few queries to warm up.
  await mergesSettled(clickhouse);
  await timings(clickhouse, 'SELECT * FROM daily_sales', 10);
  const whole = await timings(clickhouse, 'SELECT * FROM daily_sales', QUERIES);
  const oneDay = await timings(clickhouse, "SELECT * FROM daily_sales WHERE day = '2026-11-07'", QUERIES);
  const baseline = await timings(clickhouse, `SELECT * FROM ${await perItemView(clickhouse)}`, BASELINE_QUERIES);
  await clickhouse.close();
  const p = (values: number[], fraction: number): number => round(percentile(values, fraction), 1);
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    name: `rollup query: SELECT * FROM daily_sales over ${ITEMS.toLocaleString('en-US')} items applied through the sink (${ITEMS / BATCH} applies of ${BATCH.toLocaleString('en-US')} records at `
      + `${Math.round(applyRate)} records/s; ${parts?.parts} parts), p50/p99 of ${QUERIES} queries once merges settled; one day: p50 ${p(oneDay, 0.5)}, p99 ${p(oneDay, 0.99)} ms `
      + `(vs the per-item view over the same state: p50 ${p(baseline, 0.5)}, p99 ${p(baseline, 0.99)} ms over ${BASELINE_QUERIES} queries; rates are queries/s)`,
    rate: round(1000 / mean(whole), 0), baseline_rate: round(1000 / mean(baseline), 1), ratio: round(mean(baseline) / mean(whole), 0),
    p50_ms: p(whole, 0.5), p99_ms: p(whole, 0.99), peak_rss_mb: peakRssMb,
  };
}
