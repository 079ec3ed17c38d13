import { seededRandom } from '../../cli/demo/workload.ts';

/** Processes the scheduler may kill. */
export const PROCESS_NAMES = ['connector', 'rollups', 'audit', 'search', 'cache'] as const;
export type ProcessName = (typeof PROCESS_NAMES)[number];

/** Crash points between a store write and the progress stored with it, by the process that has one. */
const FAULT_POINTS: Partial<Record<ProcessName, string>> = { rollups: 'rollups.after-insert', audit: 'audit.after-insert' };

export type BrokerTarget = 'controller' | 'leader' | 'any';

export type Fault =
  | { kind: 'kill'; at: number; process: ProcessName; downMs: number; faultPoint?: { name: string; after: number } }
  | { kind: 'broker'; at: number; target: BrokerTarget; downMs: number; required: boolean }
  | { kind: 'registry'; at: number; downMs: number; required: boolean }
  | { kind: 'opensearch'; at: number; downMs: number; required: boolean }
  | { kind: 'redis'; at: number; downMs: number; required: boolean }
  | { kind: 'poison'; at: number }
  /**
   * The connector behind the stream's retention: `away` (killed, back `backMs` after the trim, to find its
   * checkpoint trimmed) or `stalled` (its stream reads held until the trim, to find its iterator trimmed);
   * `awayMs` of changes before the trim are ones it has not read.
   */
  | { kind: 'gap'; at: number; mode: 'away' | 'stalled'; awayMs: number; backMs: number };

export interface PlanOptions {
  seed: number;
  durationMs: number;
  poisonOrders: number;
  /** Outages of the stack's registry, OpenSearch and Redis; off where others use the stack at the same time. */
  stackOutages: boolean;
}

/**
 * The run's faults, decided from the seed alone before anything starts, so a seed names one sequence of
 * faults (what, when, for how long); the moments they land on in the processes still vary with timing.
 * Lanes: process kills every 2–6 s (so at least ~30 in three minutes); infrastructure faults one at a
 * time, cycling through brokers and stores so each kind happens, with the order shuffled by the seed;
 * trimmed-stream gaps; poison orders.
 */
export function faultPlan({ seed, durationMs, poisonOrders, stackOutages }: PlanOptions): Fault[] {
  const random = seededRandom(seed);
  const between = (min: number, max: number): number => Math.round(min + random() * (max - min));
  const faults: Fault[] = [];

  for (let at = between(3_000, 5_000); at < durationMs; at += between(2_000, 6_000)) {
    const process = PROCESS_NAMES[Math.floor(random() * PROCESS_NAMES.length)]!;
    const point = FAULT_POINTS[process];
    // Half the ClickHouse owners' restarts carry a fault point: they die between insert and progress, at
    // their first or second insert (later, a scheduled kill often comes first).
    const faultPoint = point && random() < 0.5 ? { name: point, after: between(1, 2) } : undefined;
    faults.push({ kind: 'kill', at, process, downMs: between(200, 3_000), faultPoint });
  }

  // Each round of infrastructure faults holds two broker restarts and one outage of every store.
  const round = (): Fault['kind'][] => shuffle(stackOutages ? ['broker', 'broker', 'registry', 'opensearch', 'redis'] : ['broker', 'broker'], random);
  const kinds: Fault['kind'][] = [];
  // The first round always happens, however late the lane runs; later ones only within the run's duration.
  let rounds = 0;
  // An infrastructure fault and the recovery after it take ~10-40 s: the lane runs late rather than overlap them.
  for (let at = between(8_000, 12_000); at < durationMs - 10_000; at += between(18_000, 26_000)) {
    if (kinds.length === 0) {
      kinds.push(...round());
      rounds++;
    }
    const kind = kinds.shift()!;
    const required = rounds === 1;
    if (kind === 'broker') faults.push({ kind, at, target: (['controller', 'leader', 'any'] as const)[Math.floor(random() * 3)]!, downMs: between(2_000, 8_000), required });
    else if (kind === 'opensearch') faults.push({ kind, at, downMs: between(5_000, 30_000), required });
    else if (kind === 'registry' || kind === 'redis') faults.push({ kind, at, downMs: between(2_000, 8_000), required });
  }

  // Trimmed-stream gaps, the connector away then stalled in turn: a third and two thirds of the way in (so
  // every run of two minutes or more has one of each), then every 4 minutes.
  const gapsAt = [Math.round(durationMs / 3), Math.round((2 * durationMs) / 3)];
  while (gapsAt.at(-1)! + 240_000 < durationMs - 20_000) gapsAt.push(gapsAt.at(-1)! + 240_000);
  gapsAt.filter((at) => at < durationMs - 20_000).forEach((at, index) => {
    faults.push({ kind: 'gap', at, mode: index % 2 === 0 ? 'away' : 'stalled', awayMs: between(3_000, 6_000), backMs: between(1_000, 3_000) });
  });

  // Poison orders spread over the run, so some land while processes are down.
  for (let index = 0; index < poisonOrders; index++) faults.push({ kind: 'poison', at: Math.round(((index + 0.5) * durationMs) / poisonOrders) });
  return faults.sort((a, b) => a.at - b.at);
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}
