import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import { Redis } from 'ioredis';
import { AuditSink, plainImage } from '../consumers/audit/audit-sink.ts';
import { CacheSink } from '../consumers/cache/cache-sink.ts';
import { connectClickHouse } from '../consumers/clickhouse/client.ts';
import { defaultOrderView, defaultRollups } from '../consumers/rollups/definition.ts';
import { RollupSink } from '../consumers/rollups/rollup-sink.ts';
import type { Sink, SinkBatch } from '../consumers/runtime/sink.ts';
import { searchConfigSchema } from '../consumers/search/config.ts';
import { documentFor, documentId } from '../consumers/search/documents.ts';
import { SearchSink } from '../consumers/search/search-sink.ts';
import { canonicalKey, type ChangeEvent } from '../schemas/change-event.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { comparison, rateOf, withPeakRss, type BenchResult } from './measure.ts';

const BATCH = 500;

function orderEvents(count: number): { key: string; event: ChangeEvent }[] {
  return Array.from({ length: count }, (_, index) => {
    const keys = { PK: { S: `ORDER#${index}` }, SK: { S: `ORDER#${index}` } };
    const event: ChangeEvent = {
      op: 'INSERT', eventId: `bench-${index}`, table: 'orders', entity: 'order', version: String(4421584500000000017450439091n + BigInt(index)), keys, before: null,
      after: {
        ...keys, user_id: { S: `USER#${index % 500}` }, category: { S: ['books', 'games', 'toys'][index % 3]! }, status: { S: 'new' },
        created_at: { S: `2026-11-${String(1 + (index % 28)).padStart(2, '0')}T10:15:00.000Z` }, total: { N: `${(index % 9973) + 1}.${String(index % 100).padStart(2, '0')}` },
      },
      source: { kind: 'DYNAMODB_STREAMS', region: 'us-east-1', table: 'orders', stream: 'bench', shardId: 'bench', sequenceNumber: String(index), approximateCreationTimeMicros: 1_764_000_000_000_000 + index, userIdentity: null, ttlDelete: false },
    };
    return { key: canonicalKey(keys), event };
  });
}

function batches(events: { key: string; event: ChangeEvent }[], topic: string): SinkBatch[] {
  const out: SinkBatch[] = [];
  for (let start = 0; start < events.length; start += BATCH) {
    const slice = events.slice(start, start + BATCH);
    out.push({ topic, partition: 0, records: slice.map(({ key, event }, index) => ({ offset: String(start + index), key, event })), nextOffset: String(start + slice.length) });
  }
  return out;
}

async function throughSink(sink: Sink, work: SinkBatch[], records: number): Promise<{ rate: number; peakRssMb: number }> {
  await sink.open();
  const { value, peakRssMb } = await withPeakRss(() => rateOf(records, async () => {
    for (const batch of work) await sink.apply(batch, async () => {});
  }));
  return { rate: value, peakRssMb };
}

/** Each sink through its Sink interface, against a raw write of the same rows or documents to the same store. */
export async function benchSinks(endpoints: Endpoints, run: string): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const topic = `bench-${run}.orders.order`;

  // ClickHouse: embedded unless a server is configured.
  const clickhouse = await connectClickHouse(endpoints.clickhouseUrl ? { kind: 'server', url: endpoints.clickhouseUrl } : { kind: 'embedded', path: mkdtempSync(join(tmpdir(), 'shardline-bench-ch-')) });
  const events = orderEvents(20_000);
  {
    const rollup = await throughSink(new RollupSink({ group: `bench-${run}`, clickhouse, rollups: defaultRollups, views: { order: defaultOrderView } }), batches(events, topic), events.length);
    // The same rows the sink writes (both rollups' item tables), inserted plainly.
    await clickhouse.command({ query: 'CREATE TABLE raw_daily (item_key String, version UInt256, is_deleted UInt8, day Date, category String, m_revenue Decimal(38, 2)) ENGINE = MergeTree ORDER BY item_key' });
    await clickhouse.command({ query: 'CREATE TABLE raw_users (item_key String, version UInt256, is_deleted UInt8, user_id String, m_total_spent Decimal(38, 2)) ENGINE = MergeTree ORDER BY item_key' });
    const rows = events.map(({ key, event }) => ({ key, version: event.version, day: event.after!.created_at!.S!.slice(0, 10), category: event.after!.category!.S!, user: event.after!.user_id!.S!, total: event.after!.total!.N! }));
    const baseline = await rateOf(events.length, async () => {
      for (let start = 0; start < rows.length; start += BATCH) {
        const slice = rows.slice(start, start + BATCH);
        await clickhouse.insert({ table: 'raw_daily', format: 'JSONEachRow', values: slice.map((row) => ({ item_key: row.key, version: row.version, is_deleted: 0, day: row.day, category: row.category, m_revenue: row.total })) });
        await clickhouse.insert({ table: 'raw_users', format: 'JSONEachRow', values: slice.map((row) => ({ item_key: row.key, version: row.version, is_deleted: 0, user_id: row.user, m_total_spent: row.total })) });
      }
    });
    results.push(comparison('sink rollups (ClickHouse): apply with views, versions and progress (vs raw insert of the same rows)', rollup.rate, baseline, rollup.peakRssMb));
  }
  {
    const sink = new AuditSink({ group: `bench-${run}`, clickhouse, table: 'bench_audit', retentionDays: 90, redactions: {}, hashSalt: '', includeSnapshots: false });
    const audit = await throughSink(sink, batches(events, topic), events.length);
    await clickhouse.command({ query: 'CREATE TABLE raw_audit AS bench_audit ENGINE = MergeTree ORDER BY (table, entity_key, event_id)' });
    const rows = events.map(({ key, event }) => ({
      table: event.table, entity: event.entity, entity_key: key, key_values: [event.keys.PK!.S!, event.keys.SK!.S!], event_id: event.eventId, op: event.op,
      at: '1764000000.000000', version: event.version, user_type: '', user_principal: '', ttl_delete: false, changes: '[]', old_values: null,
      new_values: JSON.stringify(plainImage(event.after)), source_kind: 'DYNAMODB_STREAMS', source_stream: 'bench', source_shard: 'bench', source_sequence: event.source.sequenceNumber,
    }));
    const baseline = await rateOf(events.length, async () => {
      for (let start = 0; start < rows.length; start += BATCH) await clickhouse.insert({ table: 'raw_audit', format: 'JSONEachRow', values: rows.slice(start, start + BATCH) });
    });
    results.push(comparison('sink audit (ClickHouse): entries with field diffs and progress (vs raw insert of the same rows)', audit.rate, baseline, audit.peakRssMb));
  }
  await clickhouse.close();

  {
    const searchEvents = events.slice(0, 10_000);
    const config = searchConfigSchema.parse({ indexPrefix: `bench-${run}`, replicas: 0, documents: { order: { text: ['category', 'status'] } } });
    const client = new OpenSearchClient({ node: endpoints.opensearchUrl });
    const search = await throughSink(new SearchSink({ group: `bench-${run}`, client, config, views: { order: defaultOrderView }, itemBackoff: { baseMs: 100, maxMs: 2_000, attempts: 10 } }), batches(searchEvents, topic), searchEvents.length);
    const rawIndex = `bench-${run}-raw`;
    await client.indices.create({ index: rawIndex, body: { settings: { number_of_shards: 1, number_of_replicas: 0 } } });
    const documents = searchEvents.map(({ key, event }) => ({ id: documentId(event.table, key), doc: documentFor(event, key, defaultOrderView, config.documents.order!) }));
    const baseline = await rateOf(searchEvents.length, async () => {
      for (let start = 0; start < documents.length; start += BATCH) {
        await client.bulk({ body: documents.slice(start, start + BATCH).flatMap(({ id, doc }) => [{ index: { _index: rawIndex, _id: id } }, doc]) as never });
      }
    });
    await client.close();
    results.push(comparison('sink search (OpenSearch): versioned compare-and-set bulk updates (vs raw bulk index of the same documents)', search.rate, baseline, search.peakRssMb));
  }
  {
    const cache = await throughSink(new CacheSink({ group: `bench-${run}`, url: endpoints.redisUrl, ttlSeconds: 3600, keyPrefix: `bench-${run}`, tableOf: () => 'orders' }), batches(events, topic), events.length);
    const redis = new Redis(endpoints.redisUrl);
    const entries = events.map(({ key, event }) => ({ key: `bench-${run}-raw:{orders}:${key}`, doc: JSON.stringify(plainImage(event.after)), version: event.version }));
    const baseline = await rateOf(events.length, async () => {
      for (let start = 0; start < entries.length; start += BATCH) {
        const pipeline = redis.pipeline();
        for (const entry of entries.slice(start, start + BATCH)) pipeline.hset(entry.key, 'v', entry.version, 'doc', entry.doc).pexpire(entry.key, 3_600_000);
        await pipeline.exec();
      }
    });
    redis.disconnect();
    results.push(comparison('sink cache (Redis): one script per batch with versions and offsets (vs raw pipelined HSET of the same items)', cache.rate, baseline, cache.peakRssMb));
  }
  return results;
}
