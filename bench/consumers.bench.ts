import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Endpoints } from '../stack/endpoints.ts';
import { produceBacklog } from './backlog.ts';
import type { ConsumerRun, SinkKind } from './consumer-process.ts';
import { median, round, type BenchResult } from './measure.ts';

const BACKLOG = 1_000_000;
const PARTITIONS = 6;
const TURNS = 3;
/** Records per sink call and partitions applied at once, for every group and its raw write alike. */
const BATCH = 5_000;
const CONCURRENCY = 3;

const SINKS: { kind: SinkKind; name: string }[] = [
  { kind: 'audit', name: 'consumer audit: Kafka -> Avro -> audit entries with diffs and progress in ClickHouse (vs raw insert of the same rows, 10,000-row blocks)' },
  { kind: 'cache', name: 'consumer cache: Kafka -> Avro -> one Redis script per batch with versions and offsets (vs raw pipelined HSET of the same items)' },
  { kind: 'search', name: 'consumer search: Kafka -> Avro -> versioned compare-and-set bulk updates in OpenSearch (vs raw bulk index of the same documents, same concurrency)' },
  { kind: 'rollups', name: 'consumer rollups: Kafka -> Avro -> rollup items and progress in ClickHouse, sink as it is (vs raw insert of the same rows, 10,000-row blocks)' },
];

/** Runs one measurement in a child process (its own heap and RSS) and reads its result line. */
async function inChild(run: ConsumerRun): Promise<{ rate: number; peakRssMb: number }> {
  const script = fileURLToPath(new URL('./consumer-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(run)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  const line = /^RESULT (.*)$/m.exec(output)?.[1];
  if (code !== 0 || !line) throw new Error(`${run.mode} ${run.sink} exited ${code} without a result:\n${output.slice(-2000)}`);
  return JSON.parse(line) as { rate: number; peakRssMb: number };
}

/**
 * Each sink as its own consumer group, end to end from Kafka, on a backlog of a million changes in a
 * topic of several partitions, against a raw write of the same rows to the same store; in turns (a new
 * group and new stores each turn), each group and each raw write in its own process.
 */
export async function benchConsumers(endpoints: Endpoints, run: string): Promise<BenchResult[]> {
  const topic = `bench-${run}.orders.order`;
  await produceBacklog(endpoints, topic, BACKLOG, PARTITIONS);
  const results: BenchResult[] = [];
  for (const { kind, name } of SINKS) {
    const rates: number[] = [];
    const baselines: number[] = [];
    const peaks: number[] = [];
    for (let turn = 0; turn < TURNS; turn++) {
      const base = { sink: kind, topic, count: BACKLOG, batchSize: BATCH, concurrency: CONCURRENCY };
      const group = await inChild({ ...base, mode: 'group', name: `bench-${run}-${kind}-${turn}` });
      const raw = await inChild({ ...base, mode: 'raw', name: `bench-${run}-${kind}-raw-${turn}` });
      console.log(`consumer ${kind} turn ${turn}: ${Math.round(group.rate)}/s (peak RSS ${group.peakRssMb} MiB), raw ${Math.round(raw.rate)}/s`);
      rates.push(group.rate);
      baselines.push(raw.rate);
      peaks.push(group.peakRssMb);
    }
    const [rate, baseline] = [median(rates), median(baselines)];
    results.push({ name, rate: round(rate, 0), baseline_rate: round(baseline, 0), ratio: round(rate / baseline), p50_ms: null, p99_ms: null, peak_rss_mb: median(peaks) });
  }
  return results;
}
