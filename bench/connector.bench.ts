import type { Message } from 'kafkajs';
import { createKafka } from '../core/kafka.ts';
import { ensureTopics } from '../core/topics.ts';
import { Connector } from '../connector/connector.ts';
import { DynamoDbStreamSource } from '../connector/dynamodb/streams-source.ts';
import { connectorMetrics } from '../connector/metrics.ts';
import { canonicalKey } from '../schemas/change-event.ts';
import { cloudEventHeaders } from '../connector/events/routing.ts';
import { chunkBySize } from '../connector/kafka-batches.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { baseConnectorOptions } from '../test/harness/connector.ts';
import { SimulatedStream, type SimulatedShard } from '../test/harness/simulated-streams.ts';
import { comparison, rateOf, withPeakRss, type BenchResult } from './measure.ts';

const RECORDS = 20_000;

/** A recorded batch of order INSERTs with realistic images (decimals, timestamps, nested list). */
function recordedBatch(): SimulatedShard['records'] {
  return Array.from({ length: RECORDS }, (_, index) => ({
    sequenceNumber: String(4421584500000000017450439091n + BigInt(index)),
    id: String(index),
    newImage: {
      PK: { S: `ORDER#${index}` }, SK: { S: `ORDER#${index}` },
      user_id: { S: `USER#${index % 500}` }, category: { S: ['books', 'games', 'toys'][index % 3]! },
      created_at: { S: '2026-11-25T10:15:00.000Z' }, total: { N: `${(index % 9973) + 1}.${String(index % 100).padStart(2, '0')}` },
      status: { S: 'new' }, items: { L: [{ M: { sku: { S: `SKU-${index}` }, qty: { N: '2' }, price: { N: '9.99' } } }] },
    },
  }));
}

async function recordsWritten(): Promise<number> {
  return (await connectorMetrics.records.get()).values.reduce((sum, value) => sum + value.value, 0);
}

/**
 * The connector path (stream records -> change events -> Avro -> transactional produce with
 * checkpoints) against a raw KafkaJS produce of the same encoded bytes, in the same run.
 */
export async function benchConnector(endpoints: Endpoints, run: string): Promise<BenchResult> {
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'bench' });
  const prefix = `bench-${run}`;
  const topic = `${prefix}.orders.order`;
  const rawTopic = `${prefix}.raw`;
  await ensureTopics(kafka, [topic, rawTopic]);
  const codec = new ChangeEventCodec({ url: endpoints.registryUrl });
  const stream = new SimulatedStream(`arn:bench:${run}`, [{ shardId: 'recorded', closed: true, records: recordedBatch() }]);
  const source = new DynamoDbStreamSource(stream.client(), { table: 'orders', streamArn: stream.streamArn, region: 'us-east-1', entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' } });

  // The same bytes for the baseline: every record mapped and encoded once beforehand.
  const shard = await source.read('recorded', await source.iterator('recorded', { type: 'TRIM_HORIZON' }), RECORDS);
  const messages: Message[] = [];
  for (const record of shard.records) {
    const event = record.toEvent();
    messages.push({ key: canonicalKey(event.keys), value: await codec.encode(topic, event), headers: cloudEventHeaders(event) });
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const baseline = await rateOf(RECORDS, async () => {
    // Sends of the same sizes as the connector's (its byte limit per send).
    for (const [chunk] of chunkBySize([{ topic: rawTopic, messages }], 1_000_000 / 2)) await producer.send({ ...chunk!, acks: -1 });
  });
  await producer.disconnect();

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
  return comparison('connector: stream records -> Avro -> transactional produce (vs raw produce of the same bytes)', rate, baseline, peakRssMb);
}
