import { createKafka } from '../core/kafka.ts';
import { ensureTopics } from '../core/topics.ts';
import { Connector } from '../connector/connector.ts';
import { DynamoDbStreamSource } from '../connector/dynamodb/streams-source.ts';
import { connectorMetrics } from '../connector/metrics.ts';
import { changeMessages, topicFor } from '../connector/events/routing.ts';
import { messageSize } from '../connector/kafka-batches.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { baseConnectorOptions } from '../test/harness/connector.ts';
import { SimulatedStream, type SimulatedShard } from '../test/harness/simulated-streams.ts';
import { median, round, withPeakRss, type BenchResult } from './measure.ts';
import { producerPerformance } from './producer-performance.ts';

const SHARDS = 4;
const RECORDS_PER_SHARD = 25_000;
const RECORDS = SHARDS * RECORDS_PER_SHARD;
const TURNS = 3;
/** The Java producer gets more records: a fresh JVM's start-up and JIT warm-up then weigh little, as in the warm connector process. */
const BASELINE_RECORDS = 3 * RECORDS;

/** A recorded shard of order INSERTs with realistic images (decimals, timestamps, nested list). */
function recordedShard(shard: number): SimulatedShard['records'] {
  return Array.from({ length: RECORDS_PER_SHARD }, (_, offset) => {
    const index = shard * RECORDS_PER_SHARD + offset;
    return {
      sequenceNumber: String(4421584500000000017450439091n + BigInt(offset)),
      id: String(index),
      newImage: {
        PK: { S: `ORDER#${index}` }, SK: { S: `ORDER#${index}` },
        user_id: { S: `USER#${index % 500}` }, category: { S: ['books', 'games', 'toys'][index % 3]! },
        created_at: { S: '2026-11-25T10:15:00.000Z' }, total: { N: `${(index % 9973) + 1}.${String(index % 100).padStart(2, '0')}` },
        status: { S: 'new' }, items: { L: [{ M: { sku: { S: `SKU-${index}` }, qty: { N: '2' }, price: { N: '9.99' } } }] },
      },
    };
  });
}

async function recordsWritten(): Promise<number> {
  return (await connectorMetrics.records.get()).values.reduce((sum, value) => sum + value.value, 0);
}

/** The mean bytes of the Kafka records the connector writes for the recorded changes (value, key and headers). */
async function meanRecordBytes(source: DynamoDbStreamSource, codec: ChangeEventCodec, template: string): Promise<number> {
  const { records } = await source.read('shard-0', await source.iterator('shard-0', { type: 'TRIM_HORIZON' }), 1000);
  let bytes = 0;
  for (const record of records) {
    const event = record.toEvent();
    const [message] = changeMessages(event, await codec.encode(topicFor(template, event), event), false);
    bytes += messageSize(message!);
  }
  return Math.round(bytes / records.length);
}

/** One turn of the connector: a new connector name reads the recorded stream from its start; timed from the first commit. */
export async function connectorTurn(endpoints: Endpoints, prefix: string, stream: SimulatedStream, codec: ChangeEventCodec): Promise<{ rate: number; peakRssMb: number }> {
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix });
  const source = new DynamoDbStreamSource(stream.client(), { table: 'orders', streamArn: stream.streamArn, region: 'us-east-1', entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' } });
  const connector = new Connector({ ...baseConnectorOptions(prefix), sources: [source], kafka, codec });
  const before = await recordsWritten();
  const written = async () => (await recordsWritten()) - before;
  const { value: rate, peakRssMb } = await withPeakRss(async () => {
    const running = connector.start();
    // Timed from the first committed transaction, so start-up (fencing, loading checkpoints) is left out.
    while ((await written()) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const [startCount, started] = [await written(), performance.now()];
    while ((await written()) < RECORDS) await new Promise((resolve) => setTimeout(resolve, 5));
    const measured = (RECORDS - startCount) / ((performance.now() - started) / 1000);
    await connector.stop();
    await running;
    return measured;
  });
  return { rate, peakRssMb };
}

/**
 * The connector path (recorded stream records -> change events -> Avro -> transactional produce with
 * checkpoints) against Kafka's own ProducerPerformance (acks=all, a transaction every 100 ms) writing
 * records of the connector's mean record size to the same broker, in turns within the same run.
 */
export function recordedStream(run: string): SimulatedStream {
  return new SimulatedStream(`arn:bench:${run}`, Array.from({ length: SHARDS }, (_, shard) => ({ shardId: `shard-${shard}`, closed: true, records: recordedShard(shard) })));
}

export async function benchConnector(endpoints: Endpoints, run: string): Promise<BenchResult> {
  const stream = recordedStream(run);
  const codec = new ChangeEventCodec({ url: endpoints.registryUrl });
  const template = baseConnectorOptions(`bench-${run}`).topics.template;
  const recordBytes = await meanRecordBytes(
    new DynamoDbStreamSource(stream.client(), { table: 'orders', streamArn: stream.streamArn, region: 'us-east-1', entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' } }),
    codec, template,
  );
  const rates: number[] = [];
  const baselines: number[] = [];
  const peaks: number[] = [];
  const summaries: string[] = [];
  for (let turn = 0; turn < TURNS; turn++) {
    const prefix = `bench-${run}-${turn}`;
    const measured = await connectorTurn(endpoints, prefix, stream, codec);
    rates.push(measured.rate);
    peaks.push(measured.peakRssMb);
    const topic = `${prefix}.producer-performance`;
    await ensureTopics(createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix }), [topic]);
    const baseline = await producerPerformance({ topic, records: BASELINE_RECORDS, recordBytes, brokers: endpoints.kafkaBrokers, transactionMs: 100 });
    baselines.push(baseline.rate);
    summaries.push(baseline.summary);
  }
  // The turns' topics hold most of a gigabyte on the shared broker.
  const admin = createKafka({ brokers: endpoints.kafkaBrokers, clientId: `bench-${run}` }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: (await admin.listTopics()).filter((topic) => topic.startsWith(`bench-${run}-`)) });
  await admin.disconnect();
  for (const [turn, rate] of rates.entries()) console.log(`connector turn ${turn}: ${Math.round(rate)} events/s; ProducerPerformance: ${summaries[turn]}`);
  const [rate, baseline] = [median(rates), median(baselines)];
  return {
    name: `connector: ${SHARDS} recorded shards, ${RECORDS} changes -> Avro -> transactions with checkpoints (vs ProducerPerformance, transactional, acks=all, ${recordBytes}-byte records)`,
    rate: round(rate, 0), baseline_rate: round(baseline, 0), ratio: round(rate / baseline), p50_ms: null, p99_ms: null, peak_rss_mb: median(peaks),
  };
}
