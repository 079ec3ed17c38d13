import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RebalanceFigures } from './scale-out.ts';
import type { Verification } from './verify.ts';

/** Differing items or rows, by store, plus their total. */
export type DifferenceCounts = Record<string, number> & { total: number };

export interface ChaosReport {
  seed: number;
  minutes: number;
  brokers: number;
  /** Kills by process: by the scheduler (SIGKILL) and self-kills at a fault point. */
  kills: { total: number; scheduled: number; at_fault_point: number; by_process: Record<string, number> };
  /** With several connector instances: how many, the kills among them, the plan's adds and removes, and the rebalances their logs show. */
  scale_out?: {
    instances: number;
    units: number;
    kinesis_shards: number;
    instances_at_the_end: number;
    connector_kills: number;
    added: number;
    removed: number;
  } & RebalanceFigures;
  broker_restarts: number;
  outages: { registry: number; opensearch: number; redis: number };
  /** Changes the workloads made, both tables (their own count of successful writes). */
  changes: number;
  /** The same per table, and how the Kinesis table's records were delivered. */
  changes_by_table: { streams: number; kinesis: number };
  kinesis_delivery: { copies: number; swaps: number; shared_creation_times: number };
  /** Streams trimmed while the connector was away, and re-snapshot runs that covered a gap to their end (their sweep committed). */
  gaps: number;
  gaps_resnapshotted: number;
  /** How the connector met the trims: restarted, asking for an iterator at its checkpoint; or running, reading with the iterator it held. */
  gap_detections: { at_checkpoint: number; with_iterator: number };
  /** Changes a trim took before the connector read them: they reach the stores only through a re-snapshot. */
  trimmed_changes: number;
  /** Connector rounds aborted where KafkaJS would have written records a second time: each would have committed copies. */
  resends_refused: number;
  lost: DifferenceCounts;
  doubled: DifferenceCounts;
  wrong: DifferenceCounts;
  dead_letters_expected: number;
  dead_letters: number;
  /** After a process restart until its /ready answers 200; after an infrastructure fault until every group has consumed what the topic held when it ended. */
  max_recovery_s: number;
  longest_recovery_s: Record<string, number>;
  passed: boolean;
  compared: Record<string, number>;
  /** Replication of the topics the run used: partitions' replica count and min.insync.replicas. */
  topics: Record<string, { replicas: number; min_insync_replicas: string }>;
  /** Exits no fault asked for (the processes were restarted; they point at something to look at). */
  unexpected_exits: string[];
  notes: string[];
  /** On a failure: the first differing items and dead letters, with expected and actual values. */
  first_differences: unknown[];
  logs: string;
}

function countByStore(verification: Verification, kind: 'lost' | 'doubled' | 'wrong'): DifferenceCounts {
  const counts: DifferenceCounts = { total: 0 } as DifferenceCounts;
  for (const difference of verification.differences.filter((candidate) => candidate.kind === kind)) {
    counts[difference.store] = (counts[difference.store] ?? 0) + 1;
    counts.total++;
  }
  return counts;
}

/** The figures of the comparison; `passed` only when no store differs and the dead letters are exactly the injected ones. */
export function comparisonFigures(verification: Verification): Pick<ChaosReport, 'lost' | 'doubled' | 'wrong' | 'dead_letters_expected' | 'dead_letters' | 'passed' | 'compared' | 'first_differences'> {
  const { deadLetters } = verification;
  const lost = countByStore(verification, 'lost');
  const doubled = countByStore(verification, 'doubled');
  const wrong = countByStore(verification, 'wrong');
  lost.dead_letters = deadLetters.missing.length;
  doubled.dead_letters = deadLetters.doubled.length;
  doubled.change_topics = verification.changeCopies.length;
  wrong.dead_letters = deadLetters.unexpected.length;
  lost.total += lost.dead_letters;
  doubled.total += doubled.dead_letters + doubled.change_topics;
  wrong.total += wrong.dead_letters;
  const passed = lost.total === 0 && doubled.total === 0 && wrong.total === 0 && deadLetters.found === deadLetters.expected;
  return {
    lost, doubled, wrong,
    dead_letters_expected: deadLetters.expected,
    dead_letters: deadLetters.found,
    passed,
    compared: verification.compared,
    first_differences: [
      ...verification.differences.slice(0, 10),
      ...deadLetters.missing.slice(0, 5).map((letter) => ({ kind: 'lost', store: 'dead_letters', ...letter })),
      ...deadLetters.doubled.slice(0, 5).map((letter) => ({ kind: 'doubled', store: 'dead_letters', ...letter })),
      ...verification.changeCopies.slice(0, 5).map((copy) => ({ kind: 'doubled', store: 'change_topics', ...copy })),
      ...deadLetters.unexpected.slice(0, 5).map((letter) => ({ kind: 'wrong', store: 'dead_letters', ...letter })),
    ],
  };
}

/** Writes the report to `<outDir>/report.json` and returns the path. */
export function writeReport(outDir: string, report: ChaosReport): string {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, 'report.json');
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
