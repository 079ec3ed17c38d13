import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDynamoDb, createDynamoDbStreams, emulatorCredentials } from '../core/aws.ts';
import { createKafka } from '../core/kafka.ts';
import { logger } from '../core/logger.ts';
import { ensureTopics } from '../core/topics.ts';
import { Connector } from '../connector/connector.ts';
import { DynamoDbStreamSource } from '../connector/dynamodb/streams-source.ts';
import { streamArnOf } from '../connector/dynamodb/table.ts';
import { OrdersWorkload, createOrdersTable } from '../cli/demo/workload.ts';
import { connectClickHouse } from '../consumers/clickhouse/client.ts';
import { defaultOrderView, defaultRollups } from '../consumers/rollups/definition.ts';
import { itemsTable } from '../consumers/rollups/items-table.ts';
import { RollupSink } from '../consumers/rollups/rollup-sink.ts';
import { ConsumerGroup } from '../consumers/runtime/group.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { baseConnectorOptions } from '../test/harness/connector.ts';
import { percentile, round, withPeakRss, type BenchResult } from './measure.ts';

const RATE = 25;
const SECONDS = 20;

/**
 * End-to-end delay at a steady rate: from PutItem returning to the order being counted in the
 * daily-sales rollup (DynamoDB emulator -> stream -> connector -> Kafka -> rollup group -> ClickHouse).
 */
export async function benchLatency(endpoints: Endpoints, run: string): Promise<BenchResult> {
  const aws = { region: 'us-east-1', endpoint: endpoints.awsEndpoint, credentials: emulatorCredentials };
  const dynamodb = createDynamoDb(aws);
  const table = `bench-latency-${run}`;
  await createOrdersTable(dynamodb, table);
  const prefix = `bench-latency-${run}`;
  const topic = `${prefix}.${table}.order`;
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix });
  await ensureTopics(kafka, [topic]);
  const codec = new ChangeEventCodec({ url: endpoints.registryUrl });
  const clickhouse = await connectClickHouse(endpoints.clickhouseUrl ? { kind: 'server', url: endpoints.clickhouseUrl } : { kind: 'embedded', path: mkdtempSync(join(tmpdir(), 'shardline-latency-ch-')) });
  const sink = new RollupSink({ group: `${prefix}-rollups`, clickhouse, rollups: [defaultRollups[0]!], views: { order: defaultOrderView } });
  const group = new ConsumerGroup({
    groupId: `${prefix}-rollups`, topics: [topic], kafka, codec, sink, deadLetterTopic: `${prefix}.dlq`, batchSize: 500,
    backoff: { baseMs: 100, maxMs: 1000, attempts: Infinity }, maxMessageBytes: 1_000_000, logger: logger.child({ bench: 'latency' }),
  });
  await group.start();
  const connector = new Connector({
    ...baseConnectorOptions(prefix),
    sources: [new DynamoDbStreamSource(createDynamoDbStreams(aws), { table, streamArn: await streamArnOf(dynamodb, table), region: aws.region, entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' } })],
    kafka, codec,
  });
  const running = connector.start();

  const workload = new OrdersWorkload(dynamodb, table, 3);
  const written = new Map<string, number>();
  const seen = new Set<string>();
  const delays: number[] = [];
  let writing = true;
  let lastWrite = performance.now();
  const watcher = (async () => {
    while (writing || seen.size < written.size) {
      const result = await clickhouse.query({ query: `SELECT item_key FROM ${itemsTable(defaultRollups[0]!)}`, format: 'JSONEachRow' });
      const now = performance.now();
      for (const { item_key: key } of await result.json<{ item_key: string }>()) {
        const at = written.get(key);
        if (at === undefined || seen.has(key)) continue;
        seen.add(key);
        delays.push(now - at);
      }
      if (!writing && performance.now() - lastWrite > 30_000) break;
      await sleep(20);
    }
  })();
  const { peakRssMb } = await withPeakRss(async () => {
    for (let index = 0; index < RATE * SECONDS; index++) {
      const order = await workload.createOrder();
      lastWrite = performance.now();
      written.set(`PK=S:ORDER#${order.id}|SK=S:ORDER#${order.id}`, lastWrite);
      await sleep(1000 / RATE);
    }
    writing = false;
    await watcher;
  });
  await connector.stop();
  await running;
  await group.stop();
  await clickhouse.close();
  dynamodb.destroy();
  return {
    name: `end to end: PutItem -> daily_sales rollup at ${RATE} orders/s for ${SECONDS} s (${delays.length} of ${written.size} seen)`,
    rate: RATE, baseline_rate: null, ratio: null,
    p50_ms: round(percentile(delays, 0.5), 0), p99_ms: round(percentile(delays, 0.99), 0), peak_rss_mb: peakRssMb,
  };
}
