import { existsSync, readFileSync } from 'node:fs';
import type { ScaleOutConfig } from './config.ts';

/**
 * A scaled-out chaos run's connector: enough units and Kinesis shards that every instance reads some, and
 * the shortest session Kafka allows. Discovery every 10 s (60 by default): a re-snapshot run begun by the
 * unit that met a gap is read by the unit the table's scan belongs to, which finds it at its next discovery.
 */
export const SCALE_OUT: ScaleOutConfig = { units: 8, sessionTimeoutMs: 6_000, discoveryIntervalMs: 10_000 };
/** The Kinesis table's stream when the connector is scaled out (two otherwise): its shards spread over the units. */
export const SCALED_KINESIS_SHARDS = 8;

export interface RebalanceFigures {
  /** Group generations completed: in each, one instance gets unit 0 (round robin), and logs it. */
  rebalances: number;
  /** Unit assignments the instances received (one per instance and rebalance it took part in). */
  assignments: number;
  /** From an instance's units stopping until its new units had fenced and loaded, per assignment that finished. */
  pause_s: { count: number; median: number; max: number };
}

/** Reads the rebalances from the instances' logs (JSON lines; a run's incarnations appended to one file each). */
export function rebalanceFigures(logPaths: string[]): RebalanceFigures {
  let rebalances = 0;
  let assignments = 0;
  const pauses: number[] = [];
  for (const path of logPaths.filter((candidate) => existsSync(candidate))) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { msg?: string; units?: number[]; seconds?: number };
      if (entry.msg === 'units assigned') {
        assignments++;
        if (entry.units?.includes(0)) rebalances++;
      } else if (entry.msg === 'units fenced and loaded' && entry.seconds !== undefined) pauses.push(entry.seconds);
    }
  }
  pauses.sort((a, b) => a - b);
  const tenths = (seconds: number) => Math.round(seconds * 10) / 10;
  return {
    rebalances,
    assignments,
    pause_s: { count: pauses.length, median: tenths(pauses[Math.floor(pauses.length / 2)] ?? 0), max: tenths(pauses.at(-1) ?? 0) },
  };
}
