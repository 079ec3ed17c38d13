import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { KafkaTestCluster } from '../harness/kafka-cluster.ts';
import { changeTopics, type RunNames } from './config.ts';
import { bounceRedis, brokerToKill, freezeOpenSearch, restartBroker, restartRegistry } from './outages.ts';
import { isConnector, type Fault, type ProcessName } from './plan.ts';
import type { ShardlineProcess } from './processes.ts';
import type { KinesisWorkload } from './kinesis-workload.ts';
import type { TrimmingProxy } from './trimming-proxy.ts';
import type { ChaosWorkload } from './workload.ts';

export interface SchedulerContext {
  processes: Map<ProcessName, ShardlineProcess>;
  cluster: KafkaTestCluster;
  kafka: Kafka;
  names: RunNames;
  workload: ChaosWorkload;
  /** The Kinesis table's workload: it takes the poison orders. */
  kinesis: KinesisWorkload;
  /** The connector's AWS endpoint, which trims the Streams table's stream for a gap. */
  proxy: TrimmingProxy;
  streamArn: string;
  /** Scaled-out connector instances not started at first: the spare the plan adds. */
  parked?: ProcessName[];
  log: (message: string) => void;
}

const RECOVERY_TIMEOUT_MS = 180_000;

/**
 * Carries out a fault plan against the running processes and servers: process kills in one lane (several
 * processes may be down at once), infrastructure faults in another (one at a time), poison orders in a
 * third, trimmed-stream gaps in a fourth. A supervisor restarts any process that died by itself (a fault point, or an unexpected exit).
 * Recovery times: after a process restart, until its /ready answers 200; after an infrastructure fault,
 * until every group has consumed what the change topics held when it ended.
 */
export class FaultScheduler {
  scheduledKills = 0;
  /** Of those, kills of the connector's processes (a gap's `away` kills every instance). */
  connectorKills = 0;
  /** Scaled-out connector instances started (`add`) and stopped with SIGTERM (`remove`) by the plan. */
  readonly scaling = { added: 0, removed: 0 };
  brokerRestarts = 0;
  /** Streams trimmed while the connector was away or stalled. */
  gaps = 0;
  readonly outages = { registry: 0, opensearch: 0, redis: 0 };
  /** Longest recovery by what was recovered from: a process's restart, or an infrastructure fault's kind. */
  readonly longestRecoveryMs: Record<string, number> = {};
  readonly notes: string[] = [];
  /** Processes the kill lane holds down on purpose: the supervisor leaves them alone. */
  private readonly heldDown = new Set<ProcessName>();
  /** Connector instances the plan removed (or has not added yet): down until an `add`, and left down at the end. */
  readonly parked: Set<ProcessName>;
  private readonly recoveries: Promise<void>[] = [];
  private supervising = true;
  /** Set when a lane fails (or the workload does): the other lanes start nothing more. */
  private stopped = false;
  private faultsOver = false;

  constructor(private readonly context: SchedulerContext) {
    this.parked = new Set(context.parked);
  }

  /** The connector's processes: one, or the scaled-out instances. */
  private get connectors(): ShardlineProcess[] {
    return [...this.context.processes.values()].filter((process) => isConnector(process.name));
  }

  async run(plan: Fault[], startedAt: number, durationMs: number): Promise<void> {
    const supervisor = this.supervise();
    const until = async (at: number): Promise<void> => {
      while (!this.stopped && performance.now() < startedAt + at) await sleep(Math.min(250, startedAt + at - performance.now()));
    };
    const lane = async <F extends Fault>(faults: F[], act: (fault: F) => Promise<void>): Promise<void> => {
      try {
        for (const fault of faults) {
          await until(fault.at);
          if (this.stopped || this.context.workload.failure !== undefined || this.context.kinesis.failure !== undefined) break;
          await act(fault);
        }
      } catch (error) {
        this.stopped = true;
        throw error;
      }
    };
    const kills = plan.filter((fault): fault is Extract<Fault, { kind: 'kill' }> => fault.kind === 'kill');
    const infrastructure = plan.filter((fault) => fault.kind !== 'kill' && fault.kind !== 'poison' && fault.kind !== 'gap' && fault.kind !== 'scale');
    const poison = plan.filter((fault) => fault.kind === 'poison');
    const gaps = plan.filter((fault): fault is Extract<Fault, { kind: 'gap' }> => fault.kind === 'gap');
    const scaling = plan.filter((fault): fault is Extract<Fault, { kind: 'scale' }> => fault.kind === 'scale');
    try {
      const lanes = await Promise.allSettled([
        // Kills are not awaited one by one: the next one may land while this process is still down.
        lane(kills, async (fault) => void this.track(this.kill(fault))),
        // A lane running late (recoveries take longer than planned) drops what is past the run's end, except the first round.
        lane(infrastructure, async (fault) => {
          if ('required' in fault && (fault.required || performance.now() < startedAt + durationMs)) await this.infrastructureFault(fault);
        }),
        lane(poison, async () => {
          const order = await this.context.kinesis.injectPoison();
          this.context.log(`poison order ${order.key}`);
        }),
        lane(gaps, (fault) => this.gap(fault)),
        lane(scaling, (fault) => this.scale(fault)),
      ]);
      // Recoveries still being measured end with the faults: the catch-up after the run covers the rest.
      this.faultsOver = true;
      await Promise.all(this.recoveries);
      const failed = lanes.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      this.supervising = false;
      await supervisor;
    }
  }

  private track(work: Promise<void>): void {
    this.recoveries.push(work.catch((error: unknown) => void this.notes.push(`fault handling failed: ${(error as Error).message}`)));
  }

  private async kill(fault: Extract<Fault, { kind: 'kill' }>): Promise<void> {
    const target = this.context.processes.get(fault.process)!;
    if (this.heldDown.has(fault.process) || this.parked.has(fault.process) || !target.running) return;
    this.heldDown.add(fault.process);
    try {
      await target.kill();
      this.scheduledKills++;
      if (isConnector(fault.process)) this.connectorKills++;
      await sleep(fault.downMs);
      const faultEnv: Record<string, string> = fault.faultPoint ? { SHARDLINE_FAULT_POINT: fault.faultPoint.name, SHARDLINE_FAULT_AFTER: String(fault.faultPoint.after) } : {};
      target.start(faultEnv);
    } finally {
      this.heldDown.delete(fault.process);
    }
    await this.measure(`${fault.process} restart`, () => target.ready());
  }

  /**
   * The connector behind the stream's retention, while the workloads write on: `away`, killed and held
   * down, the stream trimmed at its end, started again (it finds its checkpoint below the horizon); or
   * `stalled`, its stream reads held at the proxy (a read that hangs), the stream trimmed, the reads let go
   * (it finds the iterator it holds below the horizon). Either way what it had not read is gone: a gap for
   * its policy to handle.
   */
  private async gap(fault: Extract<Fault, { kind: 'gap' }>): Promise<void> {
    const { proxy, streamArn, log } = this.context;
    // Every instance of a scaled-out connector: the one reading the stream may be any of them.
    const connectors = this.connectors;
    const ready = async () => (await Promise.all(connectors.filter((connector) => !this.parked.has(connector.name as ProcessName)).map((connector) => connector.ready()))).every(Boolean);
    // A kill lane's restart (or a scaling step) in progress finishes first: then the connector is the gap's alone.
    while (connectors.some((connector) => this.heldDown.has(connector.name as ProcessName))) await sleep(100);
    for (const connector of connectors) this.heldDown.add(connector.name as ProcessName);
    const away = connectors.filter((connector) => connector.running);
    try {
      if (fault.mode === 'away') {
        for (const connector of away) {
          await connector.kill();
          this.scheduledKills++;
          this.connectorKills++;
        }
      } else {
        // Stalled while it reads (not while it recovers from a kill): then it holds an iterator to meet the trim with.
        for (const deadline = performance.now() + 60_000; !(await ready()) && performance.now() < deadline;) await sleep(200);
        proxy.stallReads();
      }
      await sleep(fault.awayMs);
      const horizons = await proxy.trim(streamArn);
      this.gaps++;
      log(`stream trimmed while the connector was ${fault.mode}${fault.mode === 'stalled' ? ` (${proxy.stalledReads} reads held)` : ''}: ${[...horizons].map(([shard, horizon]) => `${shard} from ${horizon}`).join(', ')}`);
      if (fault.mode === 'away') {
        await sleep(fault.backMs);
        for (const connector of away) connector.start();
      } else {
        // Spared by the kill lane until it meets the trim (or a minute passes).
        const met = proxy.trimmed.length;
        proxy.releaseReads();
        for (const deadline = performance.now() + 60_000; proxy.trimmed.length === met && performance.now() < deadline;) await sleep(200);
      }
    } finally {
      proxy.releaseReads();
      for (const connector of connectors) this.heldDown.delete(connector.name as ProcessName);
    }
    this.track(this.measure(`connector after a gap (${fault.mode})`, ready));
  }

  /**
   * A scaled-out connector grows or shrinks by one instance: `add` starts a parked one (it joins the group,
   * a rebalance), `remove` stops a running one with SIGTERM (it finishes its rounds and leaves the group)
   * and parks it. Instances the kill lane or a gap holds are left to them.
   */
  private async scale(fault: Extract<Fault, { kind: 'scale' }>): Promise<void> {
    // After a gap holding every instance (or a kill holding one) is over: the step then has its pick of them.
    while (this.connectors.some((connector) => this.heldDown.has(connector.name as ProcessName))) await sleep(100);
    const running = this.connectors.filter((connector) => connector.running && !this.parked.has(connector.name as ProcessName));
    // An instance leaves once it works (one stopped just after its spawn dies of SIGTERM before it has a handler):
    // while they all recover (a rebalance, a broker down), wait for one for up to 30 s.
    const ready = async () => (await Promise.all(running.map(async (connector) => (connector.running && (await connector.ready()) ? [connector] : [])))).flat();
    let working: ShardlineProcess[] = fault.change === 'remove' ? await ready() : [];
    for (const deadline = performance.now() + 30_000; fault.change === 'remove' && working.length === 0 && performance.now() < deadline;) {
      await sleep(500);
      working = await ready();
    }
    const candidates = fault.change === 'add' ? this.connectors.filter((connector) => this.parked.has(connector.name as ProcessName)) : working.length > 0 ? working : running;
    const target = candidates[fault.pick % Math.max(1, candidates.length)];
    // The kill lane may have taken it meanwhile.
    if (!target || this.heldDown.has(target.name as ProcessName)) return;
    const name = target.name as ProcessName;
    this.heldDown.add(name);
    try {
      if (fault.change === 'add') {
        this.parked.delete(name);
        target.start();
        this.scaling.added++;
      } else {
        this.parked.add(name);
        const clean = await target.stop();
        this.scaling.removed++;
        if (!clean) this.notes.push(`${name} did not stop cleanly with exit 0 on SIGTERM when removed`);
      }
    } finally {
      this.heldDown.delete(name);
    }
    this.context.log(`connector instance ${name} ${fault.change === 'add' ? 'added' : 'removed'}`);
    if (fault.change === 'add') this.track(this.measure(`${name} added`, () => target.ready()));
  }

  private async infrastructureFault(fault: Fault): Promise<void> {
    const { cluster, kafka, names, log } = this.context;
    const started = performance.now();
    if (fault.kind === 'broker') {
      const id = await brokerToKill(kafka, names.streams.topic, fault.target, Math.round(fault.at), cluster.brokers.length);
      log(`broker ${id} (${fault.target}) killed for ${fault.downMs} ms`);
      await restartBroker(cluster, id, fault.downMs);
      this.brokerRestarts++;
    } else if (fault.kind === 'registry') {
      log(`registry stopped for ${fault.downMs} ms`);
      const { idBefore, idAfter } = await restartRegistry(names.streams.topic, fault.downMs);
      if (idBefore !== idAfter) this.notes.push(`the registry gave the change-event schema id ${idAfter} after a restart, ${idBefore} before`);
      this.outages.registry++;
    } else if (fault.kind === 'opensearch') {
      log(`OpenSearch frozen for ${fault.downMs} ms`);
      await freezeOpenSearch(fault.downMs);
      this.outages.opensearch++;
    } else if (fault.kind === 'redis') {
      log(`Redis stopped for ${fault.downMs} ms`);
      await bounceRedis(fault.downMs);
      this.outages.redis++;
    }
    log(`${fault.kind} back after ${Math.round(performance.now() - started)} ms`);
    // The end offsets are read when the cluster answers again (metadata can lag just after a broker restart).
    let ends: Map<string, Map<number, bigint>> | undefined;
    // Not "every process ready": with a kill every few seconds that rarely holds at one moment. Measured
    // beside the lane, which goes on with its plan.
    this.track(this.measure(fault.kind, async () => {
      ends ??= await this.topicEnds();
      return this.groupsReached(ends);
    }));
  }

  /** Polls `recovered` until it answers true; records how long that took. */
  private async measure(what: string, recovered: () => Promise<boolean>): Promise<void> {
    const started = performance.now();
    // One second between probes: several measurements run at once on a small machine.
    while (!(await recovered().catch(() => false))) {
      if (this.faultsOver || performance.now() - started > RECOVERY_TIMEOUT_MS) {
        this.notes.push(`${what}: not recovered after ${Math.round((performance.now() - started) / 1000)} s${this.faultsOver ? ', when the faults ended' : ''}`);
        return;
      }
      await sleep(1_000);
    }
    this.longestRecoveryMs[what] = Math.max(this.longestRecoveryMs[what] ?? 0, Math.round(performance.now() - started));
  }

  /** The end offset of every partition of the change topics, by topic then partition. */
  private async topicEnds(): Promise<Map<string, Map<number, bigint>>> {
    const admin = this.context.kafka.admin();
    await admin.connect();
    try {
      const ends = new Map<string, Map<number, bigint>>();
      for (const topic of changeTopics(this.context.names)) ends.set(topic, new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, BigInt(high)])));
      return ends;
    } finally {
      await admin.disconnect();
    }
  }

  /** True when every group's committed offsets reach `ends` (what the topics held when the fault ended). */
  private async groupsReached(ends: Map<string, Map<number, bigint>>): Promise<boolean> {
    const admin = this.context.kafka.admin();
    await admin.connect();
    try {
      for (const groupId of Object.values(this.context.names.groups)) {
        const committed = await admin.fetchOffsets({ groupId, topics: [...ends.keys()] });
        for (const [topic, partitions] of ends) {
          for (const [partition, end] of partitions) {
            const at = committed.find((candidate) => candidate.topic === topic)?.partitions.find((candidate) => candidate.partition === partition)?.offset ?? '-1';
            if (BigInt(at) < end) return false;
          }
        }
      }
      return true;
    } finally {
      await admin.disconnect();
    }
  }

  /** Restarts a process that died by itself (at a fault point, or an exit of its own), shortly after. */
  private async supervise(): Promise<void> {
    while (this.supervising) {
      for (const [name, process] of this.context.processes) {
        if (this.heldDown.has(name) || this.parked.has(name) || process.running) continue;
        this.context.log(`${name} died by itself (${process.selfKills} at a fault point so far): restarting`);
        process.start();
        this.track(this.measure(`${name} restart`, () => process.ready()));
      }
      await sleep(500);
    }
  }
}
