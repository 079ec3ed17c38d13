import { fileURLToPath } from 'node:url';
import { createKafka } from '../core/kafka.ts';
import { audit } from '../consumers/audit/index.ts';
import { cache } from '../consumers/cache/index.ts';
import { rollups } from '../consumers/rollups/index.ts';
import type { SinkDefinition } from '../consumers/runtime/sink-definition.ts';
import { search } from '../consumers/search/index.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { produceBacklog } from './backlog.ts';
import type { ConsumerMeasurement, ConsumerRun, SinkKind } from './consumer-process.ts';
import { comparison, loadNow, median, resultOfChild, round, type BenchResult } from './measure.ts';

const BACKLOG = 1_000_000;
const PARTITIONS = 6;
const TURNS = 3;
/** Partitions applied at once, for every group, and writes in flight for its raw write. */
const CONCURRENCY = 2;
/** A smaller young generation: the groups' garbage is short-lived. */
const GROUP_FLAGS = ['--max-semi-space-size=8'];

/**
 * Each group writes in its sink's own batch size (what a user gets without setting one: ClickHouse 10,000
 * rows, search 2,000 documents, cache 500 items; the raw write uses the same blocks) and runs with the
 * old-generation limit in MiB given here. V8 lets an uncapped old generation grow to about four times the live
 * data (a cache group lived in 50-70 MiB and reached 320-350 MiB RSS); capped, the cache and search groups stay
 * below 256 MiB at about a third more CPU per event (a smaller heap grows in smaller steps and is collected more
 * often). The audit and rollups groups are not capped: embedded ClickHouse alone takes about 240 MiB of the
 * process before its first row, so no cap brings them below 256 MiB, and a cap cost the audit group a fifth of
 * its rate (10,000-record batches: 54,062/s at 384 MiB against 70,669/s uncapped; 822 against 931 MiB RSS).
 */
const SINKS: { kind: SinkKind; definition: SinkDefinition; heapMb?: number; name: string }[] = [
  {
    kind: 'audit',
    definition: audit,
    name: 'consumer audit: Kafka -> Avro -> audit entries with diffs and progress in ClickHouse, 10,000-record batches (vs raw insert of the same rows, same blocks)',
  },
  {
    kind: 'cache',
    definition: cache,
    heapMb: 192,
    name: 'consumer cache: Kafka -> Avro -> one Redis script per 500-item batch with versions and offsets, --max-old-space-size=192 (vs raw pipelined HSET of the same items)',
  },
  {
    kind: 'search',
    definition: search,
    heapMb: 160,
    name: 'consumer search: Kafka -> Avro -> versions read, then conditional bulk writes of 2,000 documents in OpenSearch, --max-old-space-size=160 (vs raw bulk index of the same documents, same concurrency)',
  },
  {
    kind: 'rollups',
    definition: rollups,
    name: 'consumer rollups: Kafka -> Avro -> rollup items and progress in ClickHouse, 10,000-record batches (vs raw insert of the same rows, same blocks)',
  },
];

/** Runs one measurement in a child process (its own heap and RSS) and reads its result line. */
function inChild(run: ConsumerRun, heapMb?: number): Promise<ConsumerMeasurement> {
  const script = fileURLToPath(new URL('./consumer-process.ts', import.meta.url));
  const flags = run.mode === 'group' ? [...GROUP_FLAGS, ...(heapMb ? [`--max-old-space-size=${heapMb}`] : [])] : [];
  return resultOfChild<ConsumerMeasurement>(script, flags, run);
}

/**
 * Each sink as its own consumer group, end to end from Kafka, on a backlog of a million changes in a
 * topic of several partitions, against a raw write of the same rows to the same store; in turns (a new
 * group and new stores each turn), each group and each raw write in its own process.
 */
export async function benchConsumers(endpoints: Endpoints, run: string, only?: SinkKind[]): Promise<BenchResult[]> {
  const topic = `bench-${run}.orders.order`;
  await produceBacklog(endpoints, topic, BACKLOG, PARTITIONS);
  const results: BenchResult[] = [];
  for (const { kind, definition, heapMb, name } of SINKS.filter((sink) => !only?.length || only.includes(sink.kind))) {
    const rates: number[] = [];
    const baselines: number[] = [];
    const peaks: number[] = [];
    const loads: number[] = [];
    const cpus: number[] = [];
    const busy: { group: number[]; raw: number[] } = { group: [], raw: [] };
    for (let turn = 0; turn < TURNS; turn++) {
      loads.push(loadNow());
      const base = { sink: kind, topic, count: BACKLOG, batchSize: definition.batchSize, concurrency: CONCURRENCY };
      const group = await inChild({ ...base, mode: 'group', name: `bench-${run}-${kind}-${turn}` }, heapMb);
      const raw = await inChild({ ...base, mode: 'raw', name: `bench-${run}-${kind}-raw-${turn}` });
      console.log(
        `consumer ${kind} turn ${turn} (load ${loads[turn]}): ${Math.round(group.rate)}/s (peak RSS ${group.peakRssMb} MiB, CPU ${group.cpuMsPer1000?.toFixed(0)} ms per 1000 events, cores ${Math.round(group.busyPercent)}% busy), raw ${Math.round(raw.rate)}/s (cores ${Math.round(raw.busyPercent)}% busy)`,
      );
      rates.push(group.rate);
      baselines.push(raw.rate);
      peaks.push(group.peakRssMb);
      cpus.push(group.cpuMsPer1000 ?? 0);
      busy.group.push(group.busyPercent);
      busy.raw.push(raw.busyPercent);
    }
    const [rate, baseline] = [median(rates), median(baselines)];
    results.push({
      ...comparison(name, rate, baseline, median(peaks), loads),
      cpu_ms_per_1000_events: round(median(cpus), 1),
      machine_busy_percent: { group: round(median(busy.group), 0), raw: round(median(busy.raw), 0) },
    });
  }
  // The backlog is most of a gigabyte on the shared broker.
  const admin = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'bench-backlog' }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  return results;
}
