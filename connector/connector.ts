import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Message, Producer, TopicMessages, Transaction } from 'kafkajs';
import { ConversionError, canonicalKey, type ChangeEvent } from '../schemas/change-event.ts';
import { SchemaRegistrationError, type ChangeEventCodec, type EventEncoder } from '../schemas/registry.ts';
import { deadLetterMessage, type DeadLetterOrigin } from '../core/dead-letter.ts';
import { applyTopicPolicy, KEEP_EVERYTHING, type TopicPolicy } from '../core/topics.ts';
import { isUnavailable } from '../core/unavailable.ts';
import { resolvesWithin } from '../core/resolves-within.ts';
import { describeError, FatalError, isFenced } from '../core/errors.ts';
import { FailureStreak, type PartHealth } from '../core/health.ts';
import type { Logger } from '../core/logger.ts';
import { failureSignal, type Part } from '../core/part.ts';
import { placeBarrier } from '../core/barrier.ts';
import { checkEveryPartitionAnswered, PartitionedSends } from '../core/partitioned-send.ts';
import { resnapshotRunId } from './checkpoint-keys.ts';
import { checkpointMessage, ensureCheckpointTopic, loadCheckpoints, type Checkpoint } from './checkpoints.ts';
import { changeMessages, topicFor } from './events/routing.ts';
import { chunkBySize } from './kafka-batches.ts';
import { installProduceEncoder } from './kafka-produce-encoder.ts';
import type { SourceRecord } from './events/source-record.ts';
import { connectorMetrics as metrics } from './metrics.ts';
import { backoffDelay, type Backoff } from '../core/backoff.ts';
import { isResourceNotFound, withAwsRetries } from './shards/errors.ts';
import { GapError, type PollingPolicy, type ShardReader } from './shards/shard-reader.ts';
import { ShardState } from './shards/shard-state.ts';
import type { ShardSource } from './shards/source.ts';
import {
  afterFailedRound,
  closingMessages,
  commitFailure,
  connectorFailure,
  openingCheckpoints,
  sendFailure,
  TRANSACTION_TIMEOUT_MS,
} from './round-outcome.ts';
import { fenceTransactionalId } from './fence.ts';
import { connectorTransactionalId, unitTransactionalId, type UnitScope } from './scale-out/units.ts';

/** How long `stop` waits for the round in progress (ConnectorOptions.stopTimeoutMs). */
const STOP_TIMEOUT_MS = 20_000;

/** How long a unit leaving with its instance waits for Kafka to end a transaction it left open. */
const FENCE_ON_STOP_MS = 5_000;

/**
 * How a unit's transactional producer retries a request: without limit (the broker ends a transaction at its
 * timeout anyway, and the round's outcome is classified then), the first retry after 25 ms (a round's first send
 * right after a commit often meets CONCURRENT_TRANSACTIONS while the broker writes that commit's markers; Java's
 * client waits 20) and never more than 1 s apart, as Java's producer (retry.backoff.max.ms). KafkaJS's own cap
 * of 30 s left a connector asleep that long after a broker outage, writing nothing with the broker back.
 */
const PRODUCER_RETRY = { initialRetryTime: 25, maxRetryTime: 1_000, retries: Number.MAX_SAFE_INTEGER };

export type GapPolicy = 'fail' | 'resnapshot' | 'skip';

/** GetRecords calls in flight in one round: shards wait on the network together, within the SDK's sockets. */
const SHARD_READS_IN_FLIGHT = 16;
/** Events encoded per send of a round: one slice is encoded while the one before waits for the broker. */
const EVENTS_PER_SEND = 2000;

// Before any produce request is made: a retry of KafkaJS's could write a round's records twice in its
// transaction (core/kafkajs-resend-guard.ts), and its request and record encoding was half of the connector's CPU.
installProduceEncoder();

export interface ConnectorOptions {
  /** Names the connector instance: its transactional id and its checkpoints. */
  name: string;
  sources: ShardSource[];
  kafka: Kafka;
  codec: ChangeEventCodec;
  topics: {
    /** `{table}` and `{entity}` are replaced, e.g. `shardline.{table}.{entity}`. */
    template: string;
    checkpoints: string;
    deadLetter: string;
    /** A null-valued record after each REMOVE, so compacted topics drop the item. */
    tombstones: boolean;
  } & Partial<TopicPolicy>;
  /** Where shards without a checkpoint start when the connector first runs. */
  startPosition: 'TRIM_HORIZON' | 'LATEST';
  gapPolicy: GapPolicy;
  /**
   * Makes the scan source for a table, under the `resnapshot` policy: a gap in a table's stream
   * starts a new snapshot run of that table, which is checkpointed and resumed like the initial one.
   */
  snapshotFactory?: (table: string, run: string, version: string) => ShardSource;
  polling: PollingPolicy & { discoveryIntervalMs: number };
  /** Records larger than this go to the dead-letter topic instead of failing the transaction. */
  maxMessageBytes: number;
  /** Kinesis duplicates remembered by event id. */
  dedupeWindowSize: number;
  /** Retention of the stream, for the trim-headroom metric (24 h for DynamoDB Streams). */
  retentionHours: number;
  backoff: Backoff;
  logger: Logger;
  /** Rounds failing for longer than this make the connector not ready (default 30 s). */
  stuckAfterMs?: number;
  /**
   * How long `stop` waits for the round in progress to finish (default 20 s, inside Kubernetes' 30 s grace): a
   * round whose send Kafka does not answer (KafkaJS retries it without limit) is not waited for longer. Nothing
   * of it is committed unless the whole round is, and the next instance fences whatever is left open.
   */
  stopTimeoutMs?: number;
  /**
   * One assignment unit of a connector scaled out over several instances (connector/scale-out): only the
   * unit's shards are read, under the unit's own transactional id. Without it, every shard is read.
   */
  unit?: UnitScope;
}

interface ConvertedEvent {
  event: ChangeEvent;
  record: SourceRecord;
  origin: DeadLetterOrigin;
}

/** What one round read: written together in one transaction. */
interface Round {
  /** Taken out by the commit as it encodes them. */
  events: ConvertedEvent[];
  deadLetters: Message[];
  checkpoints: Message[];
  /** Readers whose reads this transaction commits. */
  readers: Set<ShardReader>;
  /** How many of the pending checkpoints (a re-snapshot that began) this round carries. */
  pending: number;
  /** Source event ids of this round, for duplicate removal: event id -> its shard's checkpoint key. */
  dedupeIds: Map<string, string>;
  /** The highest event version per checkpoint key after this round. */
  versions: Map<string, bigint>;
}

/**
 * Reads every shard of every source and writes change events, dead letters and shard checkpoints to
 * Kafka in one transaction per round, so that a crash at any point leaves Kafka with each change
 * exactly once: on restart the connector resumes after the committed checkpoints. It starts and stops as
 * every part does (core/part.ts).
 */
export class Connector implements Part {
  private producer: Producer | undefined;
  private running = false;
  private stopped: Promise<void> | undefined;
  private readonly shards: ShardState;
  private markLoaded: (loaded: boolean) => void = () => undefined;
  /** True once the checkpoints were first loaded (the producer has fenced its predecessors); false if it stopped before. */
  readonly loaded = new Promise<boolean>((resolve) => {
    this.markLoaded = resolve;
  });
  /** A shard of this unit waits for a parent in another unit: the checkpoints are looked at more often. */
  private waitingForOtherUnits = false;
  /** Re-snapshot runs started in this loop iteration, by table: one covers every gap of the table met in it. */
  private readonly runsThisIteration = new Map<string, string>();
  /** The shards whose lag gauges this connector set, by shard key, with their labels. */
  private readonly reportedLag = new Map<string, { stream: string; shard: string }>();
  /** When the newest re-snapshot run was started: run ids stay distinct when two start in one millisecond. */
  private lastRunAt = 0;
  private readonly streak: FailureStreak;
  private readonly stuckAfterMs: number;
  /** When the round in progress began: a round that hangs (a broker that never answers) is stuck too. */
  private roundStartedAt: number | undefined;
  private fatal: Error | undefined;
  /** A transaction was begun and neither committed nor aborted with an answer, nor ended by a later initialisation. */
  private transactionMayBeOpen = false;
  /** `stop` returned without waiting for the round in progress: once that ends, its unit may be another's. */
  private abandoned = false;
  private readonly fail: (error: Error) => void;
  /** Rejects when the loop stopped on an error (fatal, see round-outcome.ts), at start or later; never resolves. */
  readonly failed: Promise<never>;
  /** Change topics given the retention policy by this process. */
  private readonly topicsWithPolicy = new Set<string>();
  private readonly sends: PartitionedSends;
  /** Topic names by table and entity. */
  private readonly topicNames = new Map<string, Map<string, string>>();
  /** Sources added while running (tables by discovery), joining at the start of the next round. */
  private readonly arriving: ShardSource[] = [];

  constructor(private readonly options: ConnectorOptions) {
    ({ failed: this.failed, fail: this.fail } = failureSignal());
    this.sends = new PartitionedSends(options.kafka);
    this.shards = new ShardState({
      connector: options.name,
      sources: options.sources,
      dedupeWindowSize: options.dedupeWindowSize,
      snapshotFactory: options.snapshotFactory,
    });
    this.stuckAfterMs = options.stuckAfterMs ?? 30_000;
    this.streak = new FailureStreak(this.stuckAfterMs, () => metrics.stuck.inc());
  }

  /** Not ready while stopped on an error, or while rounds have failed (nothing committed) for too long. */
  health(): PartHealth {
    const part = this.options.unit
      ? `connector ${this.options.name} unit ${this.options.unit.unit}`
      : `connector ${this.options.name}`;
    if (this.fatal) return { part, ready: false, detail: describeError(this.fatal) };
    if (!this.running) return { part, ready: false, detail: 'not running' };
    if (!this.producer)
      return {
        part,
        ready: false,
        detail: `loading the checkpoints${this.streak.currentError() ? ` (${this.streak.currentError()})` : ''}`,
      };
    const roundMs = this.roundStartedAt === undefined ? 0 : Date.now() - this.roundStartedAt;
    if (roundMs > this.stuckAfterMs)
      return { part, ready: false, detail: `one round has been running for ${Math.round(roundMs / 1000)} s` };
    const problem = this.streak.problem();
    return problem ? { part, ready: false, detail: problem } : { part, ready: true };
  }

  /**
   * Starts the loop, which reads until stopped, and resolves once it has loaded the checkpoints. Its first
   * round connects, fences older instances with the same name and loads them (see recover): a broker, the
   * registry or AWS not answering then is retried like any round, so a connector started while a broker
   * restarts waits for it instead of exiting.
   */
  async start(): Promise<void> {
    this.running = true;
    this.stopped = this.loop()
      .catch((error: unknown) => {
        // Given up at a stop, the round ended on its own later (fenced by the next instance, most likely).
        if (this.abandoned) {
          this.options.logger.warn({ err: error }, 'the round given up at the stop ended');
          return;
        }
        this.fatal = connectorFailure(error as Error, this.options.name);
        this.fail(this.fatal);
      })
      .finally(() => this.markLoaded(false));
    // Stopped before it loaded them: by stop(), or on its own.
    if (!(await this.loaded)) {
      await this.stopped;
      if (this.fatal) throw this.fatal;
    }
  }

  /**
   * A transactional producer whose id is initialised before anything is read: that bumps the epoch, so
   * an older instance with the same name is fenced and its open transaction ends. Its first transaction
   * is a barrier on the checkpoint topic (its one partition), and the checkpoints are read past it:
   * everything the older instances committed.
   */
  private async fenceAndLoad(): Promise<Map<string, Checkpoint>> {
    const { kafka, topics, name } = this.options;
    const producer = kafka.producer({
      transactionalId: this.transactionalId(),
      idempotent: true,
      maxInFlightRequests: 1,
      retry: PRODUCER_RETRY,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
    });
    await producer.connect();
    try {
      this.transactionMayBeOpen = true;
      const barrier = await placeBarrier(producer, topics.checkpoints, 0);
      // Initialised, which ended any transaction an earlier producer of the id left, and the barrier's aborted.
      this.transactionMayBeOpen = false;
      const checkpoints = await loadCheckpoints(kafka, topics.checkpoints, name, barrier);
      this.producer = producer;
      return checkpoints;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private transactionalId(): string {
    const { name, unit } = this.options;
    return unit ? unitTransactionalId(name, unit.unit) : connectorTransactionalId(name);
  }

  /**
   * At start, and after a commit whose outcome is unknown (KafkaJS leaves the producer in COMMITTING,
   * refusing every later transaction): a new producer fences the old epoch and completes or aborts what
   * it left, and the readers go on from the checkpoints as Kafka now holds them.
   */
  private async recover(): Promise<void> {
    const { kafka, topics, name, logger, codec } = this.options;
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
    await codec.checkAccess();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureCheckpointTopic(admin, topics.checkpoints);
    } finally {
      await admin.disconnect();
    }
    const checkpoints = await this.fenceAndLoad();
    this.shards.restore(checkpoints);
    this.markLoaded(true);
    logger.info({ connector: name, checkpoints: checkpoints.size }, 'checkpoints loaded');
  }

  /**
   * Sources of tables found while running. They join before the next round, which reloads the checkpoints
   * (as a recovery does), so a stream this connector name read before resumes where it was.
   */
  addSources(sources: ShardSource[]): void {
    this.arriving.push(...sources);
  }

  /** Finishes the round in progress (committing what it read), then disconnects. */
  async stop(): Promise<void> {
    this.running = false;
    // Also when it never started (a unit taken away before its previous connector had stopped).
    this.markLoaded(false);
    const timeoutMs = this.options.stopTimeoutMs ?? STOP_TIMEOUT_MS;
    if (await resolvesWithin(this.stopped ?? Promise.resolve(), timeoutMs)) {
      await this.producer?.disconnect();
      return;
    }
    this.abandoned = true;
    // The shards' gauges are the next reader's now, also should this loop go on a while.
    this.dropLagOfUnreadShards(true);
    this.options.logger.warn(
      { connector: this.options.name, unit: this.options.unit?.unit, seconds: timeoutMs / 1000 },
      'stopped without waiting longer for the round in progress (Kafka, AWS or the registry does not answer, or a checkpoint load waits behind an open transaction): it commits whole, with its checkpoints, or not at all',
    );
    // The round goes on in the background until the process ends: should Kafka answer, it commits whole or is
    // refused as fenced by the next instance; either way every change is written once. Its producer disconnects
    // once its request in flight has timed out (KafkaJS waits for that), so that is not waited for either.
    void this.producer?.disconnect().catch(() => undefined);
  }

  private async loop(): Promise<void> {
    let fenced = false;
    try {
      await this.rounds();
    } catch (error) {
      fenced = isFenced(error);
      throw error;
    } finally {
      if (this.abandoned) {
        // `stop` returned long ago; a producer connected since (a load that went on) is not left behind.
        await this.producer?.disconnect().catch(() => undefined);
      } else {
        // Stopped (or a unit taken away): another instance, or none, reads these shards now.
        this.dropLagOfUnreadShards(true);
        if (this.transactionMayBeOpen && !fenced && this.options.unit?.leavingGroup()) await this.endLeftTransaction();
      }
    }
  }

  private async rounds(): Promise<void> {
    let failures = 0;
    let recoveryPending = false;
    while (this.running) {
      // Shards the last round retired or found gone, whether it committed or failed.
      this.dropLagOfUnreadShards();
      const now = Date.now();
      this.roundStartedAt = now;
      this.runsThisIteration.clear();
      try {
        if (this.arriving.length > 0) {
          this.shards.sources.push(...this.arriving.splice(0));
          this.shards.lastDiscovery = 0;
          recoveryPending = true;
        }
        // The last commit's outcome is unknown: start from what Kafka holds.
        if (recoveryPending || !this.producer) await this.recover();
        recoveryPending = false;
        // Stopped while it loaded (a unit taken away meanwhile): no round with what it would no longer own.
        if (!this.running) break;
        if (this.discoveryDue(now)) {
          this.waitingForOtherUnits = await this.discover();
          this.shards.lastDiscovery = Date.now();
          if (!this.running) break;
        }
        const round = await this.readRound(now);
        this.readAhead(round, now);
        if (round.readers.size > 0 || round.checkpoints.length > 0) await this.commit(round);
        failures = 0;
        this.streak.succeeded();
        this.roundStartedAt = undefined;
      } catch (error) {
        this.roundStartedAt = undefined;
        const action = afterFailedRound(error, recoveryPending);
        if (action === 'stop') throw error;
        // Stays set until a recovery succeeds: a recovery that failed half-way must run again.
        recoveryPending = action === 'recover';
        if (action === 'rewind') this.shards.rewind();
        this.streak.failed(describeError(error));
        this.options.logger.warn(
          { err: error, attempt: failures },
          'round failed; reading again from the committed checkpoints',
        );
        await sleep(backoffDelay(this.options.backoff, failures++));
        continue;
      }
      const nextPoll = Math.min(
        ...[...this.shards.readers.values()].map(({ reader }) => reader.nextPollAt),
        now + this.options.polling.idleMaxMs,
      );
      const wait = nextPoll - Date.now();
      if (wait > 0 && this.running) await sleep(Math.min(wait, this.options.polling.idleMaxMs));
    }
  }

  /**
   * A unit stopped because its instance leaves the group, after a commit, abort or barrier that went unanswered:
   * its transaction is ended now rather than at the broker's transaction timeout, a minute on. Until then it holds
   * back every checkpoint load past a barrier, the other units' too, and no next owner fences it before this
   * instance has left. (A unit handed over in a rebalance is fenced by its next owner; fencing it here could end
   * that owner's first transaction.) Kafka gets a few seconds: past them, the timeout ends the transaction.
   */
  private async endLeftTransaction(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
    const { kafka, logger } = this.options;
    if (!(await resolvesWithin(fenceTransactionalId(kafka, this.transactionalId()), FENCE_ON_STOP_MS)))
      logger.warn({ unit: this.options.unit?.unit }, 'a transaction left open on stopping ends at its timeout');
  }

  /**
   * Shards that returned records are asked for their next page while the round commits, as many at once
   * as a round reads; not when stopping (a unit taken away: the shards' next reader is another instance).
   */
  private readAhead(round: Round, now: number): void {
    if (!this.running) return;
    let started = 0;
    for (const reader of round.readers) {
      if (started === SHARD_READS_IN_FLIGHT) return;
      if (reader.nextPollAt > now) continue;
      reader.readAhead();
      started++;
    }
  }

  /**
   * Shards are listed every discovery interval, and at once when a shard was retired (its children may
   * start). Alone, a connector with no reader lists every round; a unit waits for the interval (its
   * instance's other units list the same streams), or polls at the idle pace while one of its shards waits
   * for a parent in another unit.
   */
  private discoveryDue(now: number): boolean {
    const { polling, unit } = this.options;
    const since = now - this.shards.lastDiscovery;
    if (!unit) return since >= polling.discoveryIntervalMs || this.shards.readers.size === 0;
    return since >= (this.waitingForOtherUnits ? polling.idleMaxMs : polling.discoveryIntervalMs);
  }

  /**
   * Lists shards and starts a reader for each one whose parents are done. A unit reads only its own shards;
   * its view of the others' comes from their committed checkpoints. True when one of its shards waits for
   * a parent that is not its own.
   */
  private async discover(): Promise<boolean> {
    const { shards } = this;
    const { unit } = this.options;
    if (unit) shards.observe(await unit.committedCheckpoints(), (source, shardId) => !unit.owns(source, shardId));
    const owns = (source: ShardSource, shardId: string) => !unit || unit.owns(source, shardId);
    let waiting = false;
    for (const source of shards.sources) {
      const listed = await withAwsRetries(this.options.backoff, () => source.listShards());
      const plan = shards.plan(source, listed);
      for (const gap of plan.vanished.filter(({ shardId }) => owns(source, shardId))) {
        await this.handleGap(
          source,
          new GapError(
            source.streamId,
            gap.shardId,
            shards.committedCheckpoint(source, gap.shardId)?.sequenceNumber,
            new Error('shard vanished before it was read to its end'),
          ),
        );
        shards.markGone(source, gap.shardId);
      }
      const readable = new Set(plan.readable.map(({ shardId }) => shardId));
      for (const shard of plan.readable)
        if (owns(source, shard.shardId))
          shards.ensureReader(source, shard, this.options.startPosition, this.options.polling);
      waiting ||= listed.some(
        ({ shardId }) => owns(source, shardId) && !readable.has(shardId) && !shards.isFinished(source, shardId),
      );
      metrics.activeShards.set({ stream: source.streamId, ...(unit && { unit: unit.unit }) }, shards.readersOf(source));
    }
    return waiting;
  }

  private async readRound(now: number): Promise<Round> {
    const round: Round = {
      events: [],
      deadLetters: [],
      ...openingCheckpoints(this.shards.pendingCheckpoints),
      readers: new Set(),
      dedupeIds: new Map(),
      versions: new Map(),
    };
    const due = [...this.shards.readers].filter(([, { reader }]) => reader.nextPollAt <= now);
    // The shards' reads wait on the network at once; what they read joins the round in the readers'
    // order, and the first failure in that order decides, as when they were read one after another.
    const reads = await settledInParallel(due, SHARD_READS_IN_FLIGHT, ([, { reader }]) => this.readShard(reader, now));
    for (const [index, [key, { reader, source }]] of due.entries()) {
      const read = reads[index]!;
      if ('error' in read) {
        if (!(read.error instanceof GapError)) throw read.error;
        if (source.kind === 'SNAPSHOT')
          throw new FatalError(
            `${source.streamId}: the table can no longer be scanned (${describeError(read.error.cause)}); a snapshot of a table that is gone cannot finish`,
          );
        await this.handleGap(source, read.error);
        // A trim leaves the shard readable from its horizon; a shard that is gone has nothing more to read.
        if (isResourceNotFound(read.error.cause)) this.shards.markGone(source, reader.shardId);
        else reader.restartFromTrimHorizon();
        continue;
      }
      const records = read.value;
      this.observeLag(source, reader);
      if (records.length === 0 && !reader.ended) continue;
      const converted = round.events.length;
      for (const record of records) this.convert(source, reader.shardId, record, round);
      round.readers.add(reader);
      const recentEventIds = this.shards.dedupe.recent(key, round.dedupeIds);
      const version = highestVersion(
        round.events.slice(converted).map(({ event }) => event.version),
        this.shards.version(key),
      );
      if (version !== undefined) round.versions.set(key, version);
      round.checkpoints.push(
        checkpointMessage(key, {
          sequenceNumber: reader.position,
          finished: reader.ended,
          ...(recentEventIds.length > 0 && { recentEventIds }),
          ...(version !== undefined && { version: version.toString() }),
        }),
      );
    }
    return round;
  }

  /** Full pages mean the shard has more: read on, so one transaction carries more records. */
  private async readShard(reader: ShardReader, now: number): Promise<SourceRecord[]> {
    const { recordsPerRead, recordsPerRound } = this.options.polling;
    const records: SourceRecord[] = [];
    let page: SourceRecord[];
    do {
      try {
        page = await reader.poll(now);
      } catch (error) {
        // Pages read before the trim caught up are changes in hand: they go out with this round, and the
        // shard's next read meets the gap again, after them.
        if (error instanceof GapError && records.length > 0) return records;
        throw error;
      }
      records.push(...page);
    } while (page.length === recordsPerRead && records.length < recordsPerRound && !reader.ended);
    return records;
  }

  /**
   * Stops reporting the lag of shards this connector no longer reads (read to their end, gone, or all of them
   * once it stops): a gauge left behind keeps its last value for ever, and `status` showed such shards as read.
   */
  private dropLagOfUnreadShards(all = false): void {
    for (const [key, labels] of this.reportedLag) {
      if (!all && this.shards.readers.has(key)) continue;
      metrics.iteratorAge.remove(labels);
      metrics.trimHeadroom.remove(labels);
      this.reportedLag.delete(key);
    }
  }

  private observeLag(source: ShardSource, reader: ShardReader): void {
    // Stopping: the gauges are the next reader's (a round given up at the stop may still end later).
    if (!this.running) return;
    const labels = { stream: source.streamId, shard: reader.shardId };
    this.reportedLag.set(this.shards.key(source, reader.shardId), labels);
    const ageSeconds =
      reader.millisBehindLatest !== undefined
        ? reader.millisBehindLatest / 1000
        : reader.newestReadMicros !== undefined
          ? Math.max(0, Date.now() / 1000 - reader.newestReadMicros / 1e6)
          : 0;
    metrics.iteratorAge.set(labels, ageSeconds);
    metrics.trimHeadroom.set(labels, this.options.retentionHours * 3600 - ageSeconds);
  }

  private convert(source: ShardSource, shardId: string, record: SourceRecord, round: Round): void {
    if (record.dedupeId !== undefined) {
      if (this.shards.dedupe.has(record.dedupeId) || round.dedupeIds.has(record.dedupeId)) {
        metrics.duplicates.inc({ stream: source.streamId });
        return;
      }
      round.dedupeIds.set(record.dedupeId, this.shards.key(source, shardId));
    }
    const origin: DeadLetterOrigin = {
      stage: 'connector',
      source: source.streamId,
      shard: shardId,
      position: record.sequenceNumber,
      table: source.table,
      ...(record.version !== undefined && { version: record.version }),
    };
    try {
      round.events.push({ event: record.toEvent(), record, origin });
    } catch (error) {
      if (!(error instanceof ConversionError)) throw error;
      metrics.deadLetters.inc({ table: source.table, reason: 'conversion' });
      round.deadLetters.push(
        deadLetterMessage(origin, error.message, record.raw(), null, this.options.maxMessageBytes),
      );
    }
  }

  /**
   * Writes the round in one transaction: its events in slices, each encoded while the one before is on
   * its way to the broker, then its dead letters and checkpoints. Everything that asks a server (schema
   * ids, partition counts, topic policies) is done before the transaction begins, so inside it only a
   * send can fail.
   */
  private async commit(round: Round): Promise<void> {
    const { topics } = this.options;
    const counts = recordCounts(round.events);
    const encoders = await this.encodersOf([...new Set(round.events.map(({ event }) => this.topicOf(event)))]);
    const writable = [...encoders].filter(([, encoder]) => !(encoder instanceof Error)).map(([topic]) => topic);
    await this.applyTopicPolicy(writable);
    for (const topic of [...writable, topics.deadLetter, topics.checkpoints]) await this.sends.partitionCount(topic);

    this.transactionMayBeOpen = true;
    const transaction = await this.producer!.transaction();
    const openedAt = performance.now();
    let sending: Promise<void> = Promise.resolve();
    try {
      // Taken from the round as they are encoded, so what was sent can be collected while the rest goes out.
      while (round.events.length > 0) {
        const slice = await this.sends.assign(
          await this.encodeSlice(round.events.splice(0, EVENTS_PER_SEND), round.deadLetters, encoders),
        );
        await sending;
        sending = this.send(transaction, slice);
        // Handled where it is awaited; marked so a failure while the next slice is encoded is not unhandled.
        sending.catch(() => undefined);
        // Lets the send reach the socket before the next slice is encoded.
        await new Promise(setImmediate);
      }
      await sending;
      await this.send(
        transaction,
        await this.sends.assign(closingMessages(topics, round.deadLetters, round.checkpoints)),
      );
    } catch (error) {
      await sending.catch(() => undefined);
      metrics.transactions.inc({ outcome: 'aborted' });
      // An abort that fails leaves the transaction's outcome to the next producer's fencing.
      await transaction.abort().then(
        () => (this.transactionMayBeOpen = false),
        () => undefined,
      );
      throw sendFailure(error, performance.now() - openedAt);
    }
    try {
      await transaction.commit();
    } catch (error) {
      metrics.transactions.inc({ outcome: 'unknown' });
      throw commitFailure(error, performance.now() - openedAt);
    }
    this.transactionMayBeOpen = false;
    metrics.transactions.inc({ outcome: 'committed' });
    this.shards.committed(round);
    for (const { table, op, count } of counts) metrics.records.inc({ table, op }, count);
  }

  /** A change event's topic, from the template (cached per table and entity: it is asked once per event). */
  private topicOf(event: ChangeEvent): string {
    let byEntity = this.topicNames.get(event.table);
    if (!byEntity) this.topicNames.set(event.table, (byEntity = new Map()));
    let topic = byEntity.get(event.entity);
    if (topic === undefined) byEntity.set(event.entity, (topic = topicFor(this.options.topics.template, event)));
    return topic;
  }

  /**
   * Each topic's encoder (its schema id registered once, then cached by the codec). A registry that does
   * not answer or refuses the schema fails the round; any other failure dead-letters the topic's events.
   */
  private async encodersOf(changeTopics: string[]): Promise<Map<string, EventEncoder | Error>> {
    const encoders = new Map<string, EventEncoder | Error>();
    for (const topic of changeTopics) {
      try {
        encoders.set(topic, await this.options.codec.encoder(topic));
      } catch (error) {
        if (isUnavailable(error) || error instanceof SchemaRegistrationError) throw error;
        encoders.set(topic, error as Error);
      }
    }
    return encoders;
  }

  /** The Kafka records of the events; what cannot be written joins the dead letters. */
  private async encodeSlice(
    events: ConvertedEvent[],
    deadLetters: Message[],
    encoders: Map<string, EventEncoder | Error>,
  ): Promise<TopicMessages[]> {
    const { topics, maxMessageBytes } = this.options;
    const byTopic = new Map<string, Message[]>();
    const add = (topic: string, message: Message): void => {
      const messages = byTopic.get(topic);
      if (messages) messages.push(message);
      else byTopic.set(topic, [message]);
    };
    const deadLetter = (
      { event, record, origin }: ConvertedEvent,
      reason: string,
      key: string,
      detail: string,
    ): void => {
      metrics.deadLetters.inc({ table: event.table, reason });
      deadLetters.push(deadLetterMessage(origin, detail, record.raw(), key, maxMessageBytes));
    };
    for (const converted of events) {
      const { event } = converted;
      const topic = this.topicOf(event);
      const key = canonicalKey(event.keys);
      const encode = encoders.get(topic)!;
      let value: Buffer;
      try {
        if (encode instanceof Error) throw encode;
        value = encode(event);
      } catch (error) {
        // Only a record's own encoding failure is dead-lettered (the registry's were sorted out in encodersOf).
        deadLetter(converted, 'encoding', key, `Avro encoding failed: ${(error as Error).message}`);
        continue;
      }
      if (value.length > maxMessageBytes) {
        deadLetter(
          converted,
          'too-large',
          key,
          `the event is ${value.length} bytes, over the ${maxMessageBytes}-byte limit`,
        );
        continue;
      }
      for (const message of changeMessages(event, value, topics.tombstones, key)) {
        // A sweep concerns items in every partition; each partition's owner applies it to its own items.
        if (event.op === 'SWEEP')
          for (const copy of await this.sends.inEveryPartition(topic, message)) add(topic, copy);
        else add(topic, message);
      }
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  /**
   * KafkaJS sends a partition's messages as one record batch, which the broker refuses above its message
   * size limit: a slice goes out in several sends when it must. Each send is checked for every partition's answer.
   */
  private async send(transaction: Transaction, topicMessages: TopicMessages[]): Promise<void> {
    for (const chunk of chunkBySize(topicMessages, this.options.maxMessageBytes / 2))
      checkEveryPartitionAnswered(chunk, await transaction.sendBatch({ topicMessages: chunk, acks: -1 }));
  }

  /** Before its first write, a change topic gets the configured retention (created with it, or altered to it). */
  private async applyTopicPolicy(changeTopics: string[]): Promise<void> {
    const fresh = changeTopics.filter((topic) => !this.topicsWithPolicy.has(topic));
    if (fresh.length === 0) return;
    const { retentionMs = KEEP_EVERYTHING.retentionMs, compaction } = this.options.topics;
    await applyTopicPolicy(this.options.kafka, fresh, { retentionMs, compaction });
    for (const topic of fresh) this.topicsWithPolicy.add(topic);
  }

  private async handleGap(source: ShardSource, gap: GapError): Promise<void> {
    const { gapPolicy, logger } = this.options;
    metrics.gaps.inc({ stream: gap.stream, shard: gap.shardId, policy: gapPolicy });
    logger.error(
      {
        stream: gap.stream,
        shard: gap.shardId,
        lostAfterSequenceNumber: gap.afterSequenceNumber ?? null,
        policy: gapPolicy,
      },
      gap.message,
    );
    if (gapPolicy === 'fail') throw gap;
    if (gapPolicy === 'resnapshot') {
      if (!this.options.snapshotFactory) throw new Error('gap policy resnapshot needs a snapshot source factory');
      // Gaps met together (a parent gone under a split, shards trimmed during one outage) are covered by one
      // run: its version is taken from the same committed positions, and it has read nothing yet.
      const covering = this.runsThisIteration.get(source.table);
      if (covering) {
        logger.warn({ table: source.table, run: covering }, 'the re-snapshot started for this table covers the gap');
        return;
      }
      this.lastRunAt = Math.max(Date.now(), this.lastRunAt + 1);
      const run = resnapshotRunId(this.lastRunAt);
      this.runsThisIteration.set(source.table, run);
      const version = this.shards.beginResnapshot(source.table, run, this.options.snapshotFactory);
      logger.warn({ table: source.table, run, version }, 're-snapshot started to cover the gap');
    }
  }
}

/** Counted per table and operation, not per event: a labelled increment costs a label lookup each. */
function recordCounts(events: ConvertedEvent[]): Iterable<{ table: string; op: string; count: number }> {
  const counts = new Map<string, { table: string; op: string; count: number }>();
  for (const { event } of events) {
    const label = `${event.table}\u0000${event.op}`;
    const entry = counts.get(label);
    if (entry) entry.count++;
    else counts.set(label, { table: event.table, op: event.op, count: 1 });
  }
  return counts.values();
}

/**
 * `work` on each item, at most `limit` at once; each outcome in the items' order, failures included
 * (every read has settled before the round goes on, so none runs on into the next round).
 */
async function settledInParallel<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<({ value: R } | { error: unknown })[]> {
  const outcomes: ({ value: R } | { error: unknown })[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      outcomes[index] = await work(items[index]!).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return outcomes;
}

/** The higher of the versions (decimal integer strings) and `current`; undefined when there is none. */
function highestVersion(versions: string[], current: bigint | undefined): bigint | undefined {
  let highest = current;
  for (const version of versions) {
    const value = BigInt(version);
    if (highest === undefined || value > highest) highest = value;
  }
  return highest;
}
