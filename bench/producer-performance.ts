import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireJava } from '../stack/java-runtime.ts';
import { repoRoot, serviceDir } from '../stack/paths.ts';
import { mavenDependencies } from '../stack/provision.ts';

/** Kafka's command-line tools, from Maven Central like the broker's own jars. */
const libDir = join(serviceDir('kafka-tools'), 'lib');

export function provisionKafkaTools(): void {
  mavenDependencies(join(repoRoot, 'stack/java/kafka-tools/pom.xml'), libDir);
}

export function kafkaToolsVersion(): string {
  // Provisioned by the connector bench: a run of the other benches has none.
  if (!existsSync(libDir)) return 'not provisioned';
  const jar = readdirSync(libDir).find((file) => /^kafka-tools-\d.*\.jar$/.test(file));
  return jar ? jar.replace(/^kafka-tools-|\.jar$/g, '') : 'unknown';
}

export interface ProducerPerformanceRun {
  topic: string;
  records: number;
  recordBytes: number;
  brokers: string[];
  /** Transactions committed every this many milliseconds (`--transaction-duration-ms`). */
  transactionMs: number;
}

export interface ProducerPerformanceResult {
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** The tool's own summary line. */
  summary: string;
}

// `100000 records sent, 96000.1 records/sec (86.40 MB/sec), 12.3 ms avg latency, 400.0 ms max latency, 9 ms 50th, 30 ms 95th, 60 ms 99th, 90 ms 99.9th.`
const SUMMARY =
  /^(\d+) records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th/m;

export function parseSummary(output: string): ProducerPerformanceResult | undefined {
  const match = SUMMARY.exec(output);
  if (!match) return undefined;
  return { rate: Number(match[2]), p50Ms: Number(match[3]), p99Ms: Number(match[4]), summary: match[0] };
}

/**
 * Kafka's own ProducerPerformance (acks=all, transactional) as a child process with a modest heap, the
 * Java client's ceiling on the same broker: what a produce path can be measured against.
 */
export async function producerPerformance(run: ProducerPerformanceRun): Promise<ProducerPerformanceResult> {
  provisionKafkaTools();
  const args = [
    '-Xms64m',
    '-Xmx256m',
    '-cp',
    `${libDir}/*`,
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    run.topic,
    '--num-records',
    String(run.records),
    '--record-size',
    String(run.recordBytes),
    '--throughput',
    '-1',
    '--transaction-duration-ms',
    String(run.transactionMs),
    '--producer-props',
    `bootstrap.servers=${run.brokers.join(',')}`,
    'acks=all',
  ];
  const child = spawn(requireJava(17), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  const result = parseSummary(output);
  if (code !== 0 || !result)
    throw new Error(`ProducerPerformance exited ${code} without its summary line:\n${output.slice(-2000)}`);
  return result;
}
