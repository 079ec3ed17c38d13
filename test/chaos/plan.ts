import { seededRandom } from '../../cli/demo/workload.ts';

/** Processes the scheduler may kill: one connector, or scaled-out connector instances `connector-<n>`, and the groups. */
export const PROCESS_NAMES = ['connector', 'rollups', 'audit', 'search', 'cache'] as const;
export type ProcessName = (typeof PROCESS_NAMES)[number] | `connector-${number}`;

/**
 * The connector's processes: `connector` alone, or with `connectors` > 1 the instances `connector-1` to
 * `connector-<connectors + 1>`, the last a spare the plan adds (and later removes one of the others).
 */
export const connectorNames = (connectors: number): ProcessName[] =>
  connectors === 1 ? ['connector'] : Array.from({ length: connectors + 1 }, (_, index) => `connector-${index + 1}` as const);

export const isConnector = (name: string): boolean => name === 'connector' || name.startsWith('connector-');

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
   * Scaled-out connector instances only: `add` starts an instance that is not running (the spare, or one
   * removed before), `remove` stops a running one with SIGTERM (it leaves the group) and keeps it down;
   * `pick` chooses among the candidates when the fault lands.
   */
  | { kind: 'scale'; at: number; change: 'add' | 'remove'; pick: number }
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
  /** Connector instances (scaled out when more than 1); default 1. */
  connectors?: number;
}

/**
 * The run's faults, decided from the seed alone before anything starts, so a seed names one sequence of
 * faults (what, when, for how long); the moments they land on in the processes still vary with timing.
 * Lanes: process kills every 2–6 s (so at least ~30 in three minutes); infrastructure faults one at a
 * time, cycling through brokers and stores so each kind happens, with the order shuffled by the seed;
 * trimmed-stream gaps; poison orders.
 */
export function faultPlan({ seed, durationMs, poisonOrders, stackOutages, connectors = 1 }: PlanOptions): Fault[] {
  const random = seededRandom(seed);
  const between = (min: number, max: number): number => Math.round(min + random() * (max - min));
  const faults: Fault[] = [];
  const instances = connectorNames(connectors);

  for (let at = between(3_000, 5_000); at < durationMs; at += between(2_000, 6_000)) {
    // The connector is hit as often as with one instance (each kill of an instance costs every instance a
    // rebalance or two); scaled out, a second draw picks the instance. With one, the draws are as they always
    // were: a seed names the same plan.
    const drawn = PROCESS_NAMES[Math.floor(random() * PROCESS_NAMES.length)]!;
    const process = drawn === 'connector' && connectors > 1 ? instances[Math.floor(random() * instances.length)]! : drawn;
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

  // Scaled out: the spare instance joins early, then instances leave and join in turn every 15–30 s (drawn
  // last, so the lanes above are the same draws as with one connector).
  if (connectors > 1) {
    for (let at = between(10_000, 15_000), index = 0; at < durationMs - 10_000; at += between(15_000, 30_000), index++) {
      faults.push({ kind: 'scale', at, change: index % 2 === 0 ? 'add' : 'remove', pick: Math.floor(random() * 1_000) });
    }
  }
  return faults.sort((a, b) => a.at - b.at);
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}
