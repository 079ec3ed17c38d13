import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createKafka } from '../core/kafka.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { produceBacklog } from './backlog.ts';
import type { ConsumerRun, SinkKind } from './consumer-process.ts';
import { comparison, loadNow, median, type BenchResult } from './measure.ts';

const BACKLOG = 1_000_000;
const PARTITIONS = 6;
const TURNS = 3;
/** Partitions applied at once, for every group, and writes in flight for its raw write. */
const CONCURRENCY = 2;
/** A smaller young generation: the groups' garbage is short-lived. */
const GROUP_FLAGS = ['--max-semi-space-size=8'];

/**
 * Records per sink call (the raw write uses the same blocks; ClickHouse's at least 10,000 rows), and the
 * group process's old-generation limit in MiB. V8 lets the old generation grow to about four times the live
 * data before it compacts (a cache group lives in 50-70 MiB and reached 380-420 MiB RSS); capped, the cache
 * and search groups stay below 256 MiB at about a third more CPU per event. The cache group holds a write in
 * flight while it decodes the next batch: at 160 MiB it peaked at 268-271 MiB, at 128 MiB at 245. The audit group carries embedded
 * ClickHouse besides (about 290 MiB before its first row), so its cap only takes the heap's part off. Its
 * entries are a batch's worth of JSON text several times over (images, diffs, rows, the insert's body): under
 * the cap, 10,000-record batches left it collecting garbage 29% of the time (400,000 records: 16,000-16,700/s,
 * 710-718 MiB), 2,500-record batches ran at 28,900/s in 550 MiB.
 */
const SINKS: { kind: SinkKind; batch: number; heapMb?: number; name: string }[] = [
  {
    kind: 'audit',
    batch: 2_500,
    heapMb: 192,
    name: 'consumer audit: Kafka -> Avro -> audit entries with diffs and progress in ClickHouse, 2,500-record batches (vs raw insert of the same rows, 10,000-row blocks)',
  },
  {
    kind: 'cache',
    batch: 5_000,
    heapMb: 128,
    name: 'consumer cache: Kafka -> Avro -> one Redis script per batch with versions and offsets (vs raw pipelined HSET of the same items)',
  },
  {
    kind: 'search',
    batch: 2_000,
    heapMb: 160,
    name: 'consumer search: Kafka -> Avro -> versions read, then conditional bulk writes in OpenSearch (vs raw bulk index of the same documents, same concurrency)',
  },
  {
    kind: 'rollups',
    batch: 10_000,
    name: 'consumer rollups: Kafka -> Avro -> rollup items and progress in ClickHouse, sink as it is (vs raw insert of the same rows, 10,000-row blocks)',
  },
];

/** Runs one measurement in a child process (its own heap and RSS) and reads its result line. */
async function inChild(
  run: ConsumerRun,
  heapMb?: number,
): Promise<{ rate: number; peakRssMb: number; cpuMsPer1000: number | null }> {
  const script = fileURLToPath(new URL('./consumer-process.ts', import.meta.url));
  const flags = run.mode === 'group' ? [...GROUP_FLAGS, ...(heapMb ? [`--max-old-space-size=${heapMb}`] : [])] : [];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', script, JSON.stringify(run)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  const line = /^RESULT (.*)$/m.exec(output)?.[1];
  if (code !== 0 || !line)
    throw new Error(`${run.mode} ${run.sink} exited ${code} without a result:\n${output.slice(-2000)}`);
  return JSON.parse(line) as { rate: number; peakRssMb: number; cpuMsPer1000: number | null };
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
  for (const { kind, batch, heapMb, name } of SINKS.filter((sink) => !only?.length || only.includes(sink.kind))) {
    const rates: number[] = [];
    const baselines: number[] = [];
    const peaks: number[] = [];
    const loads: number[] = [];
    for (let turn = 0; turn < TURNS; turn++) {
      loads.push(loadNow());
      const base = { sink: kind, topic, count: BACKLOG, batchSize: batch, concurrency: CONCURRENCY };
      const group = await inChild({ ...base, mode: 'group', name: `bench-${run}-${kind}-${turn}` }, heapMb);
      const raw = await inChild({ ...base, mode: 'raw', name: `bench-${run}-${kind}-raw-${turn}` });
      console.log(
        `consumer ${kind} turn ${turn} (load ${loads[turn]}): ${Math.round(group.rate)}/s (peak RSS ${group.peakRssMb} MiB, CPU ${group.cpuMsPer1000?.toFixed(0)} ms per 1000 events), raw ${Math.round(raw.rate)}/s`,
      );
      rates.push(group.rate);
      baselines.push(raw.rate);
      peaks.push(group.peakRssMb);
    }
    const [rate, baseline] = [median(rates), median(baselines)];
    results.push(comparison(name, rate, baseline, median(peaks), loads));
  }
  // The backlog is most of a gigabyte on the shared broker.
  const admin = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'bench-backlog' }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  return results;
}
