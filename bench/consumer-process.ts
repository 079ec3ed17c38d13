/**
 * One consumer-group measurement in its own process, so that its peak RSS is the group's alone:
 * `group` consumes the backlog end to end (fetch, Avro decode, apply, progress); `raw` writes the same
 * rows straight to the store. Prints `RESULT {…}` (a ConsumerMeasurement) on stdout: besides the rate, how busy
 * the machine's cores were while it was measured (the group, the store and Kafka share them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import type { ClickHouseClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { createKafka } from '../core/kafka.ts';
import { logger } from '../core/logger.ts';
import { AuditSink } from '../consumers/audit/audit-sink.ts';
import { CacheSink } from '../consumers/cache/cache-sink.ts';
import { connectClickHouse } from '../consumers/clickhouse/client.ts';
import { insertJsonRows } from '../consumers/clickhouse/insert.ts';
import { defaultOrderView, defaultRollups } from '../consumers/rollups/definition.ts';
import { RollupSink } from '../consumers/rollups/rollup-sink.ts';
import { ConsumerGroup } from '../consumers/runtime/group.ts';
import { groupMetrics } from '../consumers/runtime/metrics.ts';
import type { Sink } from '../consumers/runtime/sink.ts';
import { searchConfigSchema } from '../consumers/search/config.ts';
import { documentFor, documentId } from '../consumers/search/documents.ts';
import { BULK_ANSWER, SearchSink } from '../consumers/search/search-sink.ts';
import { plainImage } from '../schemas/plain.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import { endpointsFromEnv, localEndpoints } from '../stack/endpoints.ts';
import { busyPercent, cpuTimes, peakRssMb } from './measure.ts';
import { orderEvent } from './orders.ts';
import { createRawRollupTables, rawRollupRow, writeRawRollupRows, type RawRollupRow } from './raw-rollup-rows.ts';

export type SinkKind = 'audit' | 'cache' | 'search' | 'rollups';

export interface ConsumerRun {
  mode: 'group' | 'raw';
  sink: SinkKind;
  topic: string;
  /** The backlog's size: the group is done when it has applied this many records. */
  count: number;
  /** Names this measurement's group and stores. */
  name: string;
  /** Records per sink call; the raw write uses the same block size (at least 10,000 rows for ClickHouse). */
  batchSize: number;
  /** Partitions applied at once; the raw write keeps as many writes in flight. */
  concurrency: number;
}

/** What a measurement prints on its `RESULT` line. */
export interface ConsumerMeasurement {
  rate: number;
  peakRssMb: number;
  /** The group process's CPU time (every thread) per thousand events; null for a raw write. */
  cpuMsPer1000: number | null;
  /** How busy the machine's cores were while it was measured, in percent. */
  busyPercent: number;
}

const endpoints = endpointsFromEnv() ?? localEndpoints;

const temporaryDirs: string[] = [];

function embeddedClickHouse(): Promise<ClickHouseClient> {
  if (endpoints.clickhouseUrl) return connectClickHouse({ kind: 'server', url: endpoints.clickhouseUrl });
  const path = mkdtempSync(join(tmpdir(), 'shardline-bench-ch-'));
  temporaryDirs.push(path);
  return connectClickHouse({ kind: 'embedded', path });
}

const searchConfig = (name: string) =>
  searchConfigSchema.parse({ indexPrefix: name, replicas: 0, documents: { order: { text: ['category', 'status'] } } });

async function sinkFor(run: ConsumerRun): Promise<Sink> {
  const group = run.name;
  switch (run.sink) {
    case 'audit':
      return new AuditSink({
        group,
        clickhouse: await embeddedClickHouse(),
        table: 'bench_audit',
        retentionDays: 90,
        redactions: {},
        hashSalt: '',
        includeSnapshots: false,
      });
    case 'rollups':
      return new RollupSink({
        group,
        clickhouse: await embeddedClickHouse(),
        rollups: defaultRollups,
        views: { order: defaultOrderView },
      });
    case 'cache':
      return new CacheSink({
        group,
        url: endpoints.redisUrl,
        ttlSeconds: 3600,
        keyPrefix: run.name,
        tableOf: () => 'orders',
      });
    case 'search':
      return new SearchSink({
        group,
        client: new OpenSearchClient({ node: endpoints.opensearchUrl }),
        config: searchConfig(run.name),
        views: { order: defaultOrderView },
        itemBackoff: { baseMs: 100, maxMs: 2_000, attempts: 10 },
      });
  }
}

async function applied(): Promise<number> {
  return (await groupMetrics.records.get()).values.reduce((sum, value) => sum + value.value, 0);
}

/**
 * The group from its start to the whole backlog applied; timed from the first applied batch. Besides
 * the rate, the process's CPU time (every thread: KafkaJS, decoding, the sink, embedded ClickHouse)
 * per thousand events over the same interval: on a shared machine the rate follows the other load,
 * the CPU an event costs much less so.
 */
async function measureGroup(run: ConsumerRun): Promise<Omit<ConsumerMeasurement, 'peakRssMb'>> {
  const sink = await sinkFor(run);
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: run.name });
  const group = new ConsumerGroup({
    groupId: run.name,
    topics: [run.topic],
    kafka,
    codec: new ChangeEventCodec({ url: endpoints.registryUrl }),
    sink,
    deadLetterTopic: `${run.name}.dlq`,
    batchSize: run.batchSize,
    partitionsConsumedConcurrently: run.concurrency,
    backoff: { baseMs: 100, maxMs: 1_000, attempts: Infinity },
    maxMessageBytes: 1_000_000,
    logger: logger.child({ bench: run.name }),
  });
  await group.start();
  while ((await applied()) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  const [first, started, cpuAtStart, coresAtStart] = [
    await applied(),
    performance.now(),
    process.cpuUsage(),
    cpuTimes(),
  ];
  while ((await applied()) < run.count) await new Promise((resolve) => setTimeout(resolve, 10));
  const [seconds, cpu, cores] = [(performance.now() - started) / 1000, process.cpuUsage(cpuAtStart), cpuTimes()];
  await group.stop();
  return {
    rate: (run.count - first) / seconds,
    cpuMsPer1000: (cpu.user + cpu.system) / 1000 / ((run.count - first) / 1000),
    busyPercent: busyPercent(coresAtStart, cores),
  };
}

/** Writes of `blocks` with `concurrency` in flight, added to `timed`; only the writes count, the rows are made before. */
async function timedWrites<T>(
  blocks: T[],
  concurrency: number,
  write: (block: T) => Promise<unknown>,
  timed: { ms: number; busy: number; total: number },
): Promise<void> {
  const [started, cores] = [performance.now(), cpuTimes()];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < blocks.length) await write(blocks[next++]!);
    }),
  );
  const coresAfter = cpuTimes();
  timed.ms += performance.now() - started;
  timed.busy += coresAfter.busy - cores.busy;
  timed.total += coresAfter.total - cores.total;
}

/** The same rows straight into the store, in blocks of the run's batch size (ClickHouse: at least 10,000 rows). */
async function measureRaw(run: ConsumerRun): Promise<Omit<ConsumerMeasurement, 'peakRssMb' | 'cpuMsPer1000'>> {
  const rowsPerBlock = run.sink === 'audit' || run.sink === 'rollups' ? Math.max(10_000, run.batchSize) : run.batchSize;
  // Made in slices so the process holds a slice's rows, not the backlog's.
  const SLICE = 100_000;
  const timed = { ms: 0, busy: 0, total: 0 };
  const writer = await rawWriter(run);
  for (let first = 0; first < run.count; first += SLICE) {
    const blocks: unknown[][] = [];
    for (let start = first; start < Math.min(run.count, first + SLICE); start += rowsPerBlock) {
      blocks.push(
        Array.from({ length: Math.min(rowsPerBlock, run.count - start, first + SLICE - start) }, (_, offset) =>
          writer.row(start + offset),
        ),
      );
    }
    await timedWrites(blocks, run.concurrency, writer.write, timed);
  }
  await writer.close();
  return { rate: run.count / (timed.ms / 1000), busyPercent: busyPercent({ busy: 0, total: 0 }, timed) };
}

interface RawWriter {
  row(index: number): unknown;
  write(rows: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

async function rawWriter(run: ConsumerRun): Promise<RawWriter> {
  switch (run.sink) {
    case 'audit': {
      const clickhouse = await embeddedClickHouse();
      const sink = new AuditSink({
        group: run.name,
        clickhouse,
        table: 'raw_audit',
        retentionDays: 90,
        redactions: {},
        hashSalt: '',
        includeSnapshots: false,
      });
      await sink.open();
      return {
        row: (index) => sink.entry(orderEvent(index).event),
        write: (rows) => insertJsonRows(clickhouse, { table: 'raw_audit', format: 'JSONEachRow', rows }),
        close: () => clickhouse.close(),
      };
    }
    case 'rollups': {
      // The rows of both default rollups' item tables.
      const clickhouse = await embeddedClickHouse();
      await createRawRollupTables(clickhouse);
      return {
        row: (index) => {
          const { key, event } = orderEvent(index);
          return rawRollupRow(key, event);
        },
        write: (rows) => writeRawRollupRows(clickhouse, rows as RawRollupRow[]),
        close: () => clickhouse.close(),
      };
    }
    case 'cache': {
      const redis = new Redis(endpoints.redisUrl);
      return {
        row: (index) => {
          const { key, event } = orderEvent(index);
          return {
            item: `${run.name}-raw:{orders}:${key}`,
            version: event.version,
            doc: JSON.stringify(plainImage(event.after)),
          };
        },
        write: (rows) => {
          const pipeline = redis.pipeline();
          for (const { item, version, doc } of rows as { item: string; version: string; doc: string }[])
            pipeline.hset(item, 'v', version, 'doc', doc).pexpire(item, 3_600_000);
          return pipeline.exec();
        },
        close: async () => void redis.disconnect(),
      };
    }
    case 'search': {
      const client = new OpenSearchClient({ node: endpoints.opensearchUrl });
      const index = `${run.name}-raw`;
      await client.indices.create({ index, body: { settings: { number_of_shards: 1, number_of_replicas: 0 } } });
      const transform = searchConfig(run.name).documents.order!;
      return {
        row: (index_) => {
          const { key, event } = orderEvent(index_);
          return [
            { index: { _index: index, _id: documentId(event.table, key) } },
            documentFor(event, key, defaultOrderView, transform),
          ];
        },
        write: (rows) => client.bulk({ body: rows.flat() as never, filter_path: BULK_ANSWER }),
        close: () => client.close(),
      };
    }
  }
}

/**
 * What a measurement wrote to the shared servers goes when it is done: a million cached items or
 * documents a turn would fill them for every other user of the stack. (Embedded ClickHouse lives in
 * a temporary directory, removed below.)
 */
async function removeWhatWasWritten(run: ConsumerRun): Promise<void> {
  if (run.sink === 'cache') {
    const redis = new Redis(endpoints.redisUrl);
    for (const pattern of [`${run.name}:*`, `${run.name}-raw:*`, `shardline:*:{orders}:${run.name}`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
    redis.disconnect();
  }
  if (run.sink === 'search') {
    const client = new OpenSearchClient({ node: endpoints.opensearchUrl });
    await client.indices.delete({ index: `${run.name}-*` });
    await client.close();
  }
}

const run = JSON.parse(process.argv[2]!) as ConsumerRun;
const measured = run.mode === 'group' ? await measureGroup(run) : { ...(await measureRaw(run)), cpuMsPer1000: null };
const peak = peakRssMb();
await removeWhatWasWritten(run);
for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
const result: ConsumerMeasurement = { ...measured, peakRssMb: peak };
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
