import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDb, createDynamoDbStreams, emulatorCredentials, type AwsConnection } from '../core/aws.ts';
import { createKafka } from '../core/kafka.ts';
import { logger } from '../core/logger.ts';
import { ensureTopics } from '../core/topics.ts';
import { Connector } from '../connector/connector.ts';
import { DynamoDbStreamSource } from '../connector/dynamodb/streams-source.ts';
import { streamArnOf } from '../connector/dynamodb/table.ts';
import { createOrdersTable } from '../cli/demo/workload.ts';
import type { ClickHouseClient } from '@clickhouse/client';
import { connectClickHouse } from '../consumers/clickhouse/client.ts';
import { defaultOrderView, defaultRollups } from '../consumers/rollups/definition.ts';
import { rollups } from '../consumers/rollups/index.ts';
import { itemsTable } from '../consumers/rollups/items-table.ts';
import { RollupSink } from '../consumers/rollups/rollup-sink.ts';
import { ConsumerGroup } from '../consumers/runtime/group.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { baseConnectorOptions } from '../test/harness/connector.ts';
import { writePaced } from './batch-writers.ts';
import { measureEmulatorCeiling, type EmulatorCeiling } from './emulator-ceiling.ts';
import { timeGetRecords } from './get-records-timer.ts';
import { percentile, round, withPeakRss, type BenchResult } from './measure.ts';

/**
 * The target rate, then one the emulator sustains beside the pipeline, so that the second row shows the
 * pipeline's own delay rather than moto's: 300/s is under a third of the stream ceiling measured in the run
 * (900-1,000 records/s on the development machine), and moto serves the writes besides.
 */
const RATES = [1_000, 300];
const SECONDS = 60;
const WRITERS = 4;
const POLL_MS = 50;
/** Keys asked for in one query: the oldest of those not seen yet. */
const KEYS_PER_QUERY = 5_000;

/**
 * End-to-end delay at steady rates: from the BatchWriteItem holding an order returning to the order being counted
 * in the daily-sales rollup (DynamoDB emulator -> stream -> connector -> Kafka -> rollup group -> ClickHouse). An
 * order is counted once its row is in the table the `daily_sales` view aggregates: the view reads it from the same
 * insert. First what the emulator serves alone, which bounds every rate above it.
 */
export async function benchLatency(endpoints: Endpoints, run: string): Promise<BenchResult[]> {
  const aws = { region: 'us-east-1', endpoint: endpoints.awsEndpoint, credentials: emulatorCredentials };
  const ceiling = await measureEmulatorCeiling(aws, `bench-latency-${run}-ceiling`, WRITERS);
  const results: BenchResult[] = [];
  for (const rate of RATES) results.push(await endToEnd(endpoints, aws, `${run}-${rate}`, rate, ceiling));
  return results;
}

/**
 * A ClickHouse for one turn alone: the turns write the same order keys, and a second group writing the same rollup
 * tables changes how the sink works. The embedded engine in a fresh directory, or a fresh database on the server.
 */
async function clickHouseOfTurn(
  endpoints: Endpoints,
  prefix: string,
): Promise<{ clickhouse: ClickHouseClient; drop: () => Promise<void> }> {
  if (!endpoints.clickhouseUrl) {
    const path = mkdtempSync(join(tmpdir(), 'shardline-latency-ch-'));
    const clickhouse = await connectClickHouse({ kind: 'embedded', path });
    const drop = async () => {
      await clickhouse.close();
      rmSync(path, { recursive: true, force: true });
    };
    return { clickhouse, drop };
  }
  const url = endpoints.clickhouseUrl;
  const database = prefix.replaceAll('-', '_');
  const server = await connectClickHouse({ kind: 'server', url });
  await server.command({ query: `CREATE DATABASE ${database}` });
  const clickhouse = await connectClickHouse({ kind: 'server', url, database });
  const drop = async () => {
    await clickhouse.close();
    await server.command({ query: `DROP DATABASE ${database}` });
    await server.close();
  };
  return { clickhouse, drop };
}

/** One turn at `rate` orders a second, with its own table, topic, consumer group and ClickHouse. */
async function endToEnd(
  endpoints: Endpoints,
  aws: AwsConnection,
  turn: string,
  rate: number,
  ceiling: EmulatorCeiling,
): Promise<BenchResult> {
  const dynamodb = createDynamoDb(aws);
  const table = `bench-latency-${turn}`;
  await createOrdersTable(dynamodb, table);
  const prefix = `bench-latency-${turn}`;
  const topic = `${prefix}.${table}.order`;
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix });
  await ensureTopics(kafka, [topic]);
  const codec = new ChangeEventCodec({ url: endpoints.registryUrl });
  const { clickhouse, drop } = await clickHouseOfTurn(endpoints, prefix);
  const sink = new RollupSink({
    group: `${prefix}-rollups`,
    clickhouse,
    rollups: defaultRollups,
    views: { order: defaultOrderView },
  });
  const group = new ConsumerGroup({
    groupId: `${prefix}-rollups`,
    topics: [topic],
    kafka,
    codec,
    sink,
    deadLetterTopic: `${prefix}.dlq`,
    // The sink's own, as a user runs it: a batch holds what is fetched, up to this.
    batchSize: rollups.batchSize,
    backoff: { baseMs: 100, maxMs: 1000, attempts: Infinity },
    maxMessageBytes: 1_000_000,
    logger: logger.child({ bench: 'latency' }),
  });
  await group.start();
  const streams = createDynamoDbStreams(aws);
  const getRecords = timeGetRecords(streams);
  const turnStarted = performance.now();
  const connector = new Connector({
    ...baseConnectorOptions(prefix),
    sources: [
      new DynamoDbStreamSource(streams, {
        table,
        streamArn: await streamArnOf(dynamodb, table),
        region: aws.region,
        entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
      }),
    ],
    kafka,
    codec,
  });
  const running = connector.start();
  // Where the delay goes: when each order's event is readable (committed) in Kafka.
  const inKafkaAt = new Map<string, number>();
  const observer = kafka.consumer({ groupId: `${prefix}-observer`, readUncommitted: false, maxWaitTimeInMs: POLL_MS });
  await observer.connect();
  await observer.subscribe({ topic, fromBeginning: true });
  await observer.run({
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      for (const message of batch.messages) if (message.key) inKafkaAt.set(message.key.toString(), at);
    },
  });

  const writtenAt = new Map<string, number>();
  const delays: number[] = [];
  const toKafka: number[] = [];
  let writing = true;
  let lastProgress = performance.now();
  const watcher = (async () => {
    while (writing || writtenAt.size > 0) {
      const askedAt = performance.now();
      const keys = [...writtenAt.keys()].slice(0, KEYS_PER_QUERY);
      if (keys.length > 0) {
        const result = await clickhouse.query({
          query: `SELECT item_key FROM ${itemsTable(defaultRollups[0]!)} WHERE item_key IN {keys:Array(String)}`,
          query_params: { keys },
          format: 'JSONEachRow',
        });
        for (const { item_key: key } of await result.json<{ item_key: string }>()) {
          const at = writtenAt.get(key);
          if (at === undefined) continue;
          // Visible when the query began at the latest: its rows are those inserted before it.
          delays.push(askedAt - at);
          const readable = inKafkaAt.get(key);
          if (readable !== undefined) toKafka.push(readable - at);
          writtenAt.delete(key);
          lastProgress = askedAt;
        }
      }
      if (!writing && performance.now() - lastProgress > 30_000) break;
      await sleep(POLL_MS);
    }
  })();
  let written = 0;
  const { value: seconds, peakRssMb } = await withPeakRss(async () => {
    const writes = await writePaced(dynamodb, table, {
      rate,
      seconds: SECONDS,
      writers: WRITERS,
      onWritten: (key, at) => {
        writtenAt.set(key, at);
        written++;
      },
    });
    writing = false;
    await watcher;
    return writes.seconds;
  });
  const turnSeconds = (performance.now() - turnStarted) / 1000;
  await observer.disconnect();
  await connector.stop();
  await running;
  streams.destroy();
  await group.stop();
  await drop();
  await dynamodb.send(new DeleteTableCommand({ TableName: table }));
  dynamodb.destroy();
  return {
    name: `end to end: asked ${rate}/s for ${SECONDS} s, achieved ${round(written / seconds, 0)}/s (${written} new orders in ${seconds.toFixed(1)} s), ${WRITERS} writers' BatchWriteItem -> daily_sales rollup; ${delays.length} seen, polled every ${POLL_MS} ms; connector and rollups group in the bench process; readable in Kafka after p50 ${round(percentile(toKafka, 0.5), 0)}, p99 ${round(percentile(toKafka, 0.99), 0)} ms; ${getRecords(turnSeconds)}; moto alone in this run, fresh table: BatchWriteItem ${round(ceiling.writeRate, 0)} orders/s, GetRecords (Limit 1000, from TRIM_HORIZON) ${round(ceiling.streamRate, 0)} records/s over ${ceiling.orders} orders`,
    rate: round(written / seconds, 0),
    baseline_rate: null,
    ratio: null,
    p50_ms: round(percentile(delays, 0.5), 0),
    p99_ms: round(percentile(delays, 0.99), 0),
    peak_rss_mb: peakRssMb,
  };
}
