import { fileURLToPath } from 'node:url';
import { createKafka } from '../core/kafka.ts';
import { ensureTopics } from '../core/topics.ts';
import type { DynamoDbStreamSource } from '../connector/dynamodb/streams-source.ts';
import { changeMessages, topicFor } from '../connector/events/routing.ts';
import { messageSize } from '../connector/kafka-batches.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { baseConnectorOptions } from '../test/harness/connector.ts';
import type { ConnectorRun } from './connector-process.ts';
import { comparison, loadNow, median, resultOfChild, type BenchResult } from './measure.ts';
import { producerPerformance } from './producer-performance.ts';
import { RECORDS, recordedSource, recordedStream, SHARDS } from './recorded-stream.ts';

const TURNS = 3;
/**
 * The connector's heap as it should be deployed: a small young generation (its garbage is short-lived) and
 * an old generation capped well above a round's live set (~70 MB for the bench's 20,000-event rounds). Left
 * to its defaults on a large machine, V8 lets the old generation grow to ~3.7 times the live set between
 * collections (peak RSS ~520 MiB for the same work; ~10% less CPU).
 */
const CONNECTOR_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=192'];
/** The Java producer gets more records: a fresh JVM's start-up and JIT warm-up then weigh little, as in the warm connector process. */
const BASELINE_RECORDS = 3 * RECORDS;

/**
 * The mean bytes of the Kafka records the connector writes for the recorded changes (value, key and headers);
 * it registers the topic's change-event schema on the way.
 */
export async function meanRecordBytes(
  source: DynamoDbStreamSource,
  codec: ChangeEventCodec,
  template: string,
): Promise<number> {
  const { records } = await source.read('shard-0', await source.iterator('shard-0', { type: 'TRIM_HORIZON' }), 1000);
  let bytes = 0;
  for (const record of records) {
    const event = record.toEvent();
    const [message] = changeMessages(event, await codec.encode(topicFor(template, event), event), false);
    bytes += messageSize(message!);
  }
  return Math.round(bytes / records.length);
}

/** One turn of the connector, in its own process (see connector-process.ts). */
const connectorTurn = (run: ConnectorRun) =>
  resultOfChild<{ rate: number; peakRssMb: number }>(
    fileURLToPath(new URL('./connector-process.ts', import.meta.url)),
    CONNECTOR_FLAGS,
    run,
  );

/**
 * The connector path (recorded stream records -> change events -> Avro -> transactional produce with
 * checkpoints) against Kafka's own ProducerPerformance (acks=all, a transaction every 100 ms) writing
 * records of the connector's mean record size to the same broker, in turns within the same run.
 */
export async function benchConnector(endpoints: Endpoints, run: string): Promise<BenchResult> {
  const codec = new ChangeEventCodec({ url: endpoints.registryUrl });
  const template = baseConnectorOptions(`bench-${run}`).topics.template;
  const recordBytes = await meanRecordBytes(recordedSource(recordedStream(run)), codec, template);
  const rates: number[] = [];
  const baselines: number[] = [];
  const peaks: number[] = [];
  const summaries: string[] = [];
  const loads: number[] = [];
  for (let turn = 0; turn < TURNS; turn++) {
    const prefix = `bench-${run}-${turn}`;
    loads.push(loadNow());
    const measured = await connectorTurn({ prefix, run });
    rates.push(measured.rate);
    peaks.push(measured.peakRssMb);
    const topic = `${prefix}.producer-performance`;
    await ensureTopics(createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix }), [topic]);
    const baseline = await producerPerformance({
      topic,
      records: BASELINE_RECORDS,
      recordBytes,
      brokers: endpoints.kafkaBrokers,
      transactionMs: 100,
    });
    baselines.push(baseline.rate);
    summaries.push(baseline.summary);
  }
  // The turns' topics hold most of a gigabyte on the shared broker.
  const admin = createKafka({ brokers: endpoints.kafkaBrokers, clientId: `bench-${run}` }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: (await admin.listTopics()).filter((topic) => topic.startsWith(`bench-${run}-`)) });
  await admin.disconnect();
  for (const [turn, rate] of rates.entries())
    console.log(
      `connector turn ${turn} (load ${loads[turn]}): ${Math.round(rate)} events/s (peak RSS ${peaks[turn]} MiB); ProducerPerformance: ${summaries[turn]}`,
    );
  const [rate, baseline] = [median(rates), median(baselines)];
  return comparison(
    `connector: ${SHARDS} recorded shards, ${RECORDS} changes -> Avro -> transactions with checkpoints, in its own process (node ${CONNECTOR_FLAGS.join(' ')}) (vs ProducerPerformance, transactional, acks=all, ${recordBytes}-byte records)`,
    rate,
    baseline,
    median(peaks),
    loads,
  );
}
