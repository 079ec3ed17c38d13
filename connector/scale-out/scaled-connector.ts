import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../core/backoff.ts';
import { classifyError, describeError, isFenced } from '../../core/errors.ts';
import type { PartHealth } from '../../core/health.ts';
import { failureSignal, type Part } from '../../core/part.ts';
import { loadCheckpoints, type Checkpoint } from '../checkpoints.ts';
import { Connector, type ConnectorOptions } from '../connector.ts';
import { fenceTransactionalId } from '../fence.ts';
import { connectorMetrics as metrics } from '../metrics.ts';
import type { ShardSource } from '../shards/source.ts';
import { SharedListing } from './shared-listing.ts';
import { UnitMembership } from './unit-membership.ts';
import { connectorTransactionalId, unitOfShard } from './units.ts';

export interface ScaleOutOptions {
  /** Assignment units: partitions of the units topic, each with its own transactional id. */
  units: number;
  /** An instance that stops heartbeating loses its units to the others after this long. */
  sessionTimeoutMs: number;
  /** How this instance is named in the group (status shows it); default host:pid. */
  instance?: string;
}

/** How long shard listings and the other units' checkpoints are shared by an instance's units. */
const SHARED_FOR_MS = 1_000;

/**
 * A connector name shared by several instances: each joins the group `shardline-connector-<name>` on
 * the units topic `<checkpoints topic>.<name>.units`, and reads the shards of the units the group gives
 * it, each unit a `Connector` of its own with its own transactional id. A unit's new owner fences the
 * previous one (initTransactions) before it loads the checkpoints, as at any start, so a unit is written
 * by one instance at a time whatever the group believes meanwhile; exactly once rests on that fencing,
 * the group only decides who reads what.
 *
 * A rebalance stops every unit of the instance (each round in progress is finished: committed, or aborted
 * and left to the next owner), and the units the new assignment brings start afresh from Kafka. It starts
 * and stops as every part does (core/part.ts).
 */
export class ScaledConnector implements Part {
  private readonly units = new Map<number, Connector>();
  /**
   * Units whose previous connector is still finishing its round: the unit starts here again only after,
   * and no other unit waits for it (a connector stopped while it loads its checkpoints may wait for a
   * transaction that only another unit's new owner ends, by fencing it).
   */
  private readonly stopping = new Map<number, Promise<void>>();
  private assigned: number[] = [];
  private readonly instance: string;
  private readonly membership: UnitMembership;
  private readonly sources: ShardSource[];
  private checkpoints: { at: number; loaded: Promise<Map<string, Checkpoint>> } | undefined;
  private revokedAt: number | undefined;
  private joined = false;
  private closing = false;
  private fatal: Error | undefined;
  private readonly rejectFailed: (error: Error) => void;
  /** Rejects when the instance stopped on an error (its own, or a unit's other than being fenced); never resolves. */
  readonly failed: Promise<never>;

  constructor(private readonly options: ConnectorOptions & { scaleOut: ScaleOutOptions }) {
    ({ failed: this.failed, fail: this.rejectFailed } = failureSignal());
    const { name, kafka, topics, scaleOut } = options;
    this.instance = scaleOut.instance ?? `${hostname()}:${process.pid}`;
    this.sources = options.sources.map((source) => new SharedListing(source, SHARED_FOR_MS));
    this.membership = new UnitMembership({
      kafka,
      groupId: connectorGroupId(name),
      topic: unitsTopic(name, topics.checkpoints),
      units: scaleOut.units,
      sessionTimeoutMs: scaleOut.sessionTimeoutMs,
      instance: this.instance,
      onRevoke: () => {
        this.revokedAt ??= Date.now();
        this.reassign([]);
      },
      onAssign: (units) => {
        metrics.rebalances.inc();
        this.options.logger.info({ instance: this.instance, units }, 'units assigned');
        this.reassign(units);
      },
      onCrash: (error) => this.fail(error),
    });
  }

  /** Joins the group, waiting for Kafka while it does not answer; the units start as the group assigns them. */
  async start(): Promise<void> {
    for (let attempt = 0; !this.closing && !this.joined; attempt++) {
      try {
        await this.fenceSingleInstance();
        await this.membership.join();
        this.joined = true;
      } catch (error) {
        if (classifyError(error) !== 'retry') {
          this.fail(error as Error);
          break;
        }
        this.options.logger.warn({ err: error, attempt }, 'cannot join the connector group yet; retrying');
        await sleep(backoffDelay(this.options.backoff, attempt));
      }
    }
    // Stopped on its own before it ran: with the error, once the units (none yet) have stopped.
    if (this.fatal) await this.failed;
  }

  /**
   * An instance of this name that is not scaled out (the configuration changed while it ran) would read
   * every shard beside the units: its transactional id is initialised here, which fences it as a new
   * single instance would (its next transaction fails and it stops).
   */
  private async fenceSingleInstance(): Promise<void> {
    await fenceTransactionalId(this.options.kafka, connectorTransactionalId(this.options.name));
  }

  /**
   * Sources of tables found while running (discovery): units started later get them with the rest, running
   * units take them at their next round. Their shards hash to units like every other shard.
   */
  addSources(sources: ShardSource[]): void {
    const shared = sources.map((source) => new SharedListing(source, SHARED_FOR_MS));
    this.sources.push(...shared);
    for (const connector of this.units.values()) connector.addSources(shared);
  }

  /** Stops every unit (finishing its round), then leaves the group so the others take the units at once. */
  async stop(): Promise<void> {
    this.closing = true;
    this.reassign([]);
    await Promise.all(this.stopping.values());
    await this.membership.leave().catch(() => undefined);
  }

  health(): PartHealth {
    const part = `connector ${this.options.name} (${this.instance})`;
    if (this.fatal) return { part, ready: false, detail: describeError(this.fatal) };
    if (!this.joined) return { part, ready: false, detail: 'joining the connector group' };
    const problems = [...this.units.values()].map((unit) => unit.health()).filter(({ ready }) => !ready);
    if (problems.length > 0)
      return { part, ready: false, detail: problems.map(({ part: unit, detail }) => `${unit}: ${detail}`).join('; ') };
    return { part, ready: true };
  }

  private reassign(units: number[]): void {
    this.assigned = this.closing ? [] : units;
    this.apply();
  }

  /** Stops the units no longer assigned and starts those newly assigned. */
  private apply(): void {
    const target = new Set(this.assigned);
    for (const [unit, connector] of this.units) {
      if (!target.has(unit)) this.stopUnit(unit, connector);
    }
    const arriving = [...target].filter((unit) => !this.units.has(unit));
    for (const unit of arriving) this.startUnit(unit);
    metrics.units.set(this.units.size);
    if (arriving.length > 0) this.reportPause(arriving);
  }

  /** Stops a unit's connector (its round finished, its producer disconnected); the unit may start here again after. */
  private stopUnit(unit: number, connector: Connector): void {
    this.units.delete(unit);
    // After the unit's earlier connector too, when it is still stopping: a connector queued behind it and
    // stopped before it started must not let the next one start while the earlier one still works.
    const earlier = this.stopping.get(unit);
    const stopped: Promise<void> = Promise.all([earlier, connector.stop().catch(() => undefined)]).then(() => {
      for (const { streamId } of this.sources) metrics.activeShards.remove({ stream: streamId, unit });
      if (this.stopping.get(unit) === stopped) this.stopping.delete(unit);
    });
    this.stopping.set(unit, stopped);
  }

  private startUnit(unit: number): void {
    const { units } = this.options.scaleOut;
    const connector = new Connector({
      ...this.options,
      sources: this.sources,
      unit: {
        unit,
        owns: (source, shardId) => unitOfShard(source, shardId, units) === unit,
        committedCheckpoints: () => this.committedCheckpoints(),
        leavingGroup: () => this.closing,
      },
    });
    this.units.set(unit, connector);
    void connector.failed.catch((error: unknown) => this.unitEnded(unit, connector, error));
    void (this.stopping.get(unit) ?? Promise.resolve()).then(async () => {
      // Taken away again while its previous connector stopped.
      if (this.units.get(unit) !== connector) return;
      // `failed` carries the error of a unit that cannot start, too.
      await connector.start().catch(() => undefined);
    });
  }

  /**
   * A unit stopped on an error. Fenced: another instance took the unit (the group moved it, or this
   * instance lost its membership and has not heard yet); it starts here again only if the group still
   * says so after a while, time for this instance's next heartbeat to learn otherwise. Anything else
   * fatal stops the instance.
   */
  private unitEnded(unit: number, connector: Connector, error: unknown): void {
    if (this.units.get(unit) !== connector) return;
    // Its loop has ended; this disconnects its producer.
    this.stopUnit(unit, connector);
    if (!isFenced(error)) {
      this.fail(error as Error);
      return;
    }
    this.options.logger.warn({ instance: this.instance, unit }, 'unit fenced by another instance');
    setTimeout(() => {
      if (!this.closing && this.assigned.includes(unit)) this.reassign(this.assigned);
    }, this.options.scaleOut.sessionTimeoutMs / 2).unref();
  }

  /** The rebalance pause: from the revocation (or the assignment) until every new unit has fenced and loaded. */
  private reportPause(arriving: number[]): void {
    const since = this.revokedAt ?? Date.now();
    this.revokedAt = undefined;
    const starting = arriving.map((unit) => this.units.get(unit)?.loaded).filter((loaded) => loaded !== undefined);
    void Promise.all(starting).then((loaded) => {
      // A unit taken away again before it loaded: this assignment's pause never ended.
      if (!loaded.every(Boolean)) return;
      const seconds = (Date.now() - since) / 1000;
      metrics.rebalancePause.set(seconds);
      this.options.logger.info({ instance: this.instance, units: arriving, seconds }, 'units fenced and loaded');
    });
  }

  /** Every unit's committed checkpoints, read once for all the instance's units for a moment. */
  private committedCheckpoints(): Promise<Map<string, Checkpoint>> {
    if (!this.checkpoints || Date.now() - this.checkpoints.at >= SHARED_FOR_MS) {
      const loaded = loadCheckpoints(this.options.kafka, this.options.topics.checkpoints, this.options.name);
      this.checkpoints = { at: Date.now(), loaded };
      loaded.catch(() => {
        if (this.checkpoints?.loaded === loaded) this.checkpoints = undefined;
      });
    }
    return this.checkpoints.loaded;
  }

  private fail(error: Error): void {
    if (this.fatal) return;
    this.fatal = error;
    this.options.logger.error({ err: error, instance: this.instance }, 'connector instance stopped');
    this.closing = true;
    this.reassign([]);
    void Promise.all(this.stopping.values())
      .then(() => this.membership.leave())
      .catch(() => undefined)
      .then(() => this.rejectFailed(error));
  }
}

/** The topic whose partitions are the units of connector `name` (next to its checkpoints, whose name it shares). */
export const unitsTopic = (name: string, checkpointsTopic: string): string => `${checkpointsTopic}.${name}.units`;

/** The consumer group the instances of connector `name` share. */
export const connectorGroupId = (name: string): string => `shardline-connector-${name}`;
