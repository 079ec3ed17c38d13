import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** One row of bench/results.json. */
export interface BenchResult {
  name: string;
  /** Records a second through the measured path. */
  rate: number | null;
  /** Records a second through the raw baseline, measured in the same run. */
  baseline_rate: number | null;
  ratio: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  peak_rss_mb: number | null;
  /** The machine's one-minute load average as each turn began: other work on the shared cores shows there. */
  load_averages?: number[];
  /** The measured process's CPU time (every thread) per thousand events. */
  cpu_ms_per_1000_events?: number;
  /** How busy the machine's cores were while the path (and its baseline) was measured, in percent. */
  machine_busy_percent?: number | { group: number; raw: number };
}

/** The one-minute load average now, to one decimal: recorded as each turn begins. */
export const loadNow = (): number => round(loadavg()[0]!, 1);

/** Busy and total jiffies of all cores (/proc/stat), to say how much of the machine a measurement had. */
export function cpuTimes(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal: guest time (the two fields after) is counted in user and nice.
  const values = fields.slice(0, 8).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: total - values[3]! - values[4]!, total };
}

/** The share of every core's time that was busy between two readings of cpuTimes, in percent. */
export const busyPercent = (before: { busy: number; total: number }, after: { busy: number; total: number }): number =>
  (100 * (after.busy - before.busy)) / (after.total - before.total);

/** The process's peak resident set (the kernel's high-water mark), in MiB. */
export function peakRssMb(): number {
  const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Math.round(Number(kib ?? 0) / 1024);
}

/**
 * Runs a bench script in a child process (its own heap, so its peak RSS is its own) and reads the
 * `RESULT {json}` line it prints.
 */
export async function resultOfChild<T>(script: string, flags: string[], argument: unknown): Promise<T> {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', script, JSON.stringify(argument)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  const line = /^RESULT (.*)$/m.exec(output)?.[1];
  if (code !== 0 || !line) throw new Error(`${script} exited ${code} without a result:\n${output.slice(-2000)}`);
  return JSON.parse(line) as T;
}

/** Samples the resident set size while `work` runs and returns the peak in MiB. */
export async function withPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakRssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 25);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakRssMb: Math.round(peak / 1024 / 1024) };
  } finally {
    clearInterval(timer);
  }
}

/** Records a second of `work` over `records` records. */
export async function rateOf(records: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return records / ((performance.now() - started) / 1000);
}

export function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
}

export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export const round = (value: number, places = 2): number => Math.round(value * 10 ** places) / 10 ** places;

export function comparison(
  name: string,
  rate: number,
  baseline: number,
  peakRssMb: number,
  loads?: number[],
): BenchResult {
  return {
    name,
    rate: round(rate, 0),
    baseline_rate: round(baseline, 0),
    ratio: round(rate / baseline),
    p50_ms: null,
    p99_ms: null,
    peak_rss_mb: peakRssMb,
    ...(loads && { load_averages: loads }),
  };
}
