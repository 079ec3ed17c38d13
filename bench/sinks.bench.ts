import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { AuditSink } from '../consumers/audit/audit-sink.ts';
import { plainImage } from '../schemas/plain.ts';
import { CacheSink } from '../consumers/cache/cache-sink.ts';
import { connectClickHouse } from '../consumers/clickhouse/client.ts';
import { insertJsonRows } from '../consumers/clickhouse/insert.ts';
import { defaultOrderView, defaultRollups } from '../consumers/rollups/definition.ts';
import { RollupSink } from '../consumers/rollups/rollup-sink.ts';
import type { Sink, SinkBatch } from '../consumers/runtime/sink.ts';
import { searchConfigSchema } from '../consumers/search/config.ts';
import { documentFor, documentId } from '../consumers/search/documents.ts';
import { BULK_ANSWER, SearchSink } from '../consumers/search/search-sink.ts';
import type { ChangeEvent } from '../schemas/change-event.ts';
import { orderEvents } from './orders.ts';
import { createRawRollupTables, rawRollupRow, writeRawRollupRows } from './raw-rollup-rows.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { comparison, median, rateOf, withPeakRss, type BenchResult } from './measure.ts';

const BATCH = 500;

function batches(events: { key: string; event: ChangeEvent }[], topic: string): SinkBatch[] {
  const out: SinkBatch[] = [];
  for (let start = 0; start < events.length; start += BATCH) {
    const slice = events.slice(start, start + BATCH);
    out.push({
      topic,
      partition: 0,
      records: slice.map(({ key, event }, index) => ({ offset: String(start + index), key, event })),
      nextOffset: String(start + slice.length),
    });
  }
  return out;
}

const REPETITIONS = 3;

/**
 * Sink and baseline measured in turns, each turn on items neither has seen (a repeated item would be
 * a cheap no-op for a versioned sink); the medians of the turns are compared. On two cores shared with
 * every server of the stack a single turn varies by tens of percent.
 */
async function compare(
  name: string,
  sink: Sink,
  count: number,
  topic: string,
  baseline: (events: { key: string; event: ChangeEvent }[], turn: number) => Promise<void>,
): Promise<BenchResult> {
  await sink.open();
  const sinkRates: number[] = [];
  const baselineRates: number[] = [];
  let peakRssMb = 0;
  for (let turn = 0; turn < REPETITIONS; turn++) {
    const sinkEvents = orderEvents(count, 2 * turn * count);
    const baselineEvents = orderEvents(count, (2 * turn + 1) * count);
    const measured = await withPeakRss(() =>
      rateOf(count, async () => {
        for (const batch of batches(sinkEvents, topic)) await sink.apply(batch, async () => {});
      }),
    );
    sinkRates.push(measured.value);
    peakRssMb = Math.max(peakRssMb, measured.peakRssMb);
    baselineRates.push(await rateOf(count, () => baseline(baselineEvents, turn)));
  }
  await sink.close();
  return comparison(name, median(sinkRates), median(baselineRates), peakRssMb);
}

const benchClickHouse = (endpoints: Endpoints) =>
  connectClickHouse(
    endpoints.clickhouseUrl
      ? { kind: 'server', url: endpoints.clickhouseUrl }
      : { kind: 'embedded', path: mkdtempSync(join(tmpdir(), 'shardline-bench-ch-')) },
  );

const slices = <T>(items: T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / BATCH) }, (_, index) =>
    items.slice(index * BATCH, (index + 1) * BATCH),
  );

/** The rollup sink's apply against the values it writes, inserted plainly in one table per rollup (the layout before aggregates). */
async function compareRollupSink(
  clickhouse: ClickHouseClient,
  run: string,
  count: number,
  topic: string,
): Promise<BenchResult> {
  await createRawRollupTables(clickhouse);
  return compare(
    'sink rollups (ClickHouse): apply with views, versions and progress (vs raw insert of the same rows)',
    new RollupSink({ group: `bench-${run}`, clickhouse, rollups: defaultRollups, views: { order: defaultOrderView } }),
    count,
    topic,
    async (events) => {
      for (const slice of slices(events)) {
        await writeRawRollupRows(
          clickhouse,
          slice.map(({ key, event }) => rawRollupRow(key, event)),
        );
      }
    },
  );
}

/** The rollup sink's row alone (`npm run bench rollups`), on a ClickHouse of its own. */
export async function benchRollupSink(endpoints: Endpoints, run: string): Promise<BenchResult> {
  const clickhouse = await benchClickHouse(endpoints);
  const result = await compareRollupSink(clickhouse, run, 10_000, `bench-${run}.orders.order`);
  await clickhouse.close();
  return result;
}

/** Each sink through its Sink interface, against a raw write of the same rows or documents to the same store. */
export async function benchSinks(endpoints: Endpoints, run: string): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const topic = `bench-${run}.orders.order`;
  const count = 10_000;

  // ClickHouse: embedded unless a server is configured.
  const clickhouse = await benchClickHouse(endpoints);
  results.push(await compareRollupSink(clickhouse, run, count, topic));

  const auditSink = new AuditSink({
    group: `bench-${run}`,
    clickhouse,
    table: 'bench_audit',
    retentionDays: 90,
    redactions: {},
    hashSalt: '',
    includeSnapshots: false,
  });
  await auditSink.open();
  await clickhouse.command({
    query: 'CREATE TABLE raw_audit AS bench_audit ENGINE = MergeTree ORDER BY (table, entity_key, event_id)',
  });
  results.push(
    await compare(
      'sink audit (ClickHouse): entries with field diffs and progress (vs raw insert of the same rows)',
      auditSink,
      count,
      topic,
      async (events) => {
        for (const slice of slices(events)) {
          await insertJsonRows(clickhouse, {
            table: 'raw_audit',
            format: 'JSONEachRow',
            rows: slice.map(({ key, event }) => ({
              table: event.table,
              entity: event.entity,
              entity_key: key,
              key_values: [event.keys.PK!.S!, event.keys.SK!.S!],
              event_id: event.eventId,
              op: event.op,
              at: '1764000000.000000',
              version: event.version,
              user_type: '',
              user_principal: '',
              ttl_delete: false,
              changes: '[]',
              old_values: null,
              new_values: JSON.stringify(plainImage(event.after)),
              source_kind: 'DYNAMODB_STREAMS',
              source_stream: 'bench',
              source_shard: 'bench',
              source_sequence: event.source.sequenceNumber,
            })),
          });
        }
      },
    ),
  );
  await clickhouse.close();

  const config = searchConfigSchema.parse({
    indexPrefix: `bench-${run}`,
    replicas: 0,
    documents: { order: { text: ['category', 'status'] } },
  });
  const client = new OpenSearchClient({ node: endpoints.opensearchUrl });
  const rawIndex = `bench-${run}-raw`;
  await client.indices.create({ index: rawIndex, body: { settings: { number_of_shards: 1, number_of_replicas: 0 } } });
  results.push(
    await compare(
      'sink search (OpenSearch): versioned compare-and-set bulk updates (vs raw bulk index of the same documents)',
      new SearchSink({
        group: `bench-${run}`,
        client,
        config,
        views: { order: defaultOrderView },
        itemBackoff: { baseMs: 100, maxMs: 2_000, attempts: 10 },
      }),
      count / 2,
      topic,
      async (events) => {
        for (const slice of slices(events)) {
          await client.bulk({
            body: slice.flatMap(({ key, event }) => [
              { index: { _index: rawIndex, _id: documentId(event.table, key) } },
              documentFor(event, key, defaultOrderView, config.documents.order!),
            ]) as never,
            filter_path: BULK_ANSWER,
          });
        }
      },
    ),
  );
  await client.close();

  const redis = new Redis(endpoints.redisUrl);
  results.push(
    await compare(
      'sink cache (Redis): one script per batch with versions and offsets (vs raw pipelined HSET of the same items)',
      new CacheSink({
        group: `bench-${run}`,
        url: endpoints.redisUrl,
        ttlSeconds: 3600,
        keyPrefix: `bench-${run}`,
        tableOf: () => 'orders',
      }),
      count,
      topic,
      async (events) => {
        for (const slice of slices(events)) {
          const pipeline = redis.pipeline();
          for (const { key, event } of slice) {
            const item = `bench-${run}-raw:{orders}:${key}`;
            pipeline
              .hset(item, 'v', event.version, 'doc', JSON.stringify(plainImage(event.after)))
              .pexpire(item, 3_600_000);
          }
          await pipeline.exec();
        }
      },
    ),
  );
  redis.disconnect();
  return results;
}
