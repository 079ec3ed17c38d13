import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Batch, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { backoffDelay, withRetries, type Backoff } from '../../core/backoff.ts';
import { classifyError, describeError, FatalError } from '../../core/errors.ts';
import { FailureStreak, type PartHealth } from '../../core/health.ts';
import { isUnavailable } from '../../core/unavailable.ts';
import type { Logger } from '../../core/logger.ts';
import { failureSignal, type Part } from '../../core/part.ts';
import { isRegistryRefusal, type ChangeEventCodec } from '../../schemas/registry.ts';
import {
  afterFailedCall,
  isolateRefusal,
  mayWrite,
  nextOf,
  planBatch,
  reassign,
  resumeAt,
  type Slice,
} from './batch-plan.ts';
import { DeadLetters } from './dead-letters.ts';
import { asMember, canHoldJoins, outsideMember } from './join-barrier.ts';
import { installRecordDecoder } from './kafka-record-decoder.ts';
import { groupMetrics as metrics } from './metrics.ts';
import { OffsetCommits } from './offset-commits.ts';
import type { Rejection, Sink, SinkRecord, TopicPartition } from './sink.ts';
import { WritesInFlight } from './writes-in-flight.ts';

export interface ConsumerGroupOptions {
  groupId: string;
  topics: string[];
  kafka: Kafka;
  codec: ChangeEventCodec;
  sink: Sink;
  deadLetterTopic: string;
  /** Records a sink gets in one `apply`. */
  batchSize: number;
  /**
   * Partitions applied at once, and store writes in flight (default 1): while one partition's batch waits for
   * the store, another's is decoded. Sinks keep progress per partition and must take concurrent `apply` calls
   * of different partitions, as they do from the several members of a group.
   */
  partitionsConsumedConcurrently?: number;
  /** Wait between attempts while the sink's store is down; the group retries until it stops. */
  backoff: Backoff;
  maxMessageBytes: number;
  logger: Logger;
  sessionTimeoutMs?: number;
  /** The same batch failing for longer than this makes the group not ready (default 60 s). */
  stuckAfterMs?: number;
}

/** A slice of a partition's batch on its way to the store; `committed` is the offset Kafka is told once it lands. */
interface PendingWrite {
  batch: Batch;
  firstOffset: string;
  slice: Slice<SinkRecord>;
  count: number;
  committed: string;
}

type Outcome<T> = { kind: 'done'; value: T } | { kind: 'record'; error: unknown } | { kind: 'gone' };

/**
 * Runs one sink as its own consumer group, reading committed transactions only. Progress lives in the
 * sink's store: on (re)assignment a partition resumes at the offset the sink stored, whatever Kafka's
 * committed offset says, and redelivered records below it are skipped. Kafka offsets are committed too,
 * after the sink, so that lag is visible to the usual tools.
 *
 * A partition's batch is handed back to KafkaJS with its last write still landing, so that the next batch is
 * fetched and decoded meanwhile; the partition's next write waits for it, a write given up makes the member
 * fetch its records again, and joins and leaves wait for the writes in flight (join-barrier.ts).
 *
 * Failures are classified once (core/errors.ts): an unavailable store is retried with backoff (the
 * group turns not ready when one batch fails for too long); a record the store refuses is found by
 * halving the batch and dead-lettered; a programming error or misconfiguration stops the group, and
 * `failed` rejects with the cause. It starts and stops as every part does (core/part.ts).
 */
export class ConsumerGroup implements Part {
  private consumer: Consumer | undefined;
  private deadLetters: DeadLetters | undefined;
  private stopping = false;
  private admin: Admin | undefined;
  /** The partitions of this member's last assignment, by `topic:partition`: those missing from the next are released. */
  private assigned = new Map<string, TopicPartition>();
  /** Next offset per `topic:partition` since the last assignment; filled from the sink on first sight. */
  private readonly next = new Map<string, bigint>();
  private readonly log: Logger;
  private readonly streak: FailureStreak;
  private fatal: FatalError | undefined;
  /**
   * A heartbeat was refused (or a rebalance began) and no heartbeat or join has succeeded since: this member
   * may no longer own what it fetched. KafkaJS goes on handing it the other batches of that fetch, which the
   * partitions' new owners apply too; none is applied until membership is shown again.
   */
  private membershipInDoubt = false;
  /**
   * Joins and leaves under way; each waits for the writes in flight (join-barrier.ts), and none starts until
   * they are done, since what this member owns is about to change.
   */
  private joinsInProgress = 0;
  /** Counts the assignments this member was given: a batch fetched under an earlier one is not written. */
  private generation = 0;
  /** When each call in progress began: a call that hangs (a store that never answers) is stuck too. */
  private readonly callsStartedAt = new Set<{ at: number }>();
  /** Calls retrying while the store is unavailable: another call succeeding does not end their failure streak. */
  private retrying = 0;
  private readonly stuckAfterMs: number;
  private readonly writes: WritesInFlight;
  private commits: OffsetCommits | undefined;
  private readonly rejectFailed: (error: FatalError) => void;
  /** Rejects when the group stopped on a fatal error, at start or later; never resolves. */
  readonly failed: Promise<never>;

  constructor(private readonly options: ConsumerGroupOptions) {
    installRecordDecoder();
    this.log = options.logger.child({ group: options.groupId });
    this.stuckAfterMs = options.stuckAfterMs ?? 60_000;
    this.writes = new WritesInFlight(options.partitionsConsumedConcurrently ?? 1);
    this.streak = new FailureStreak(this.stuckAfterMs, () => metrics.stuck.inc({ group: options.groupId }));
    ({ failed: this.failed, fail: this.rejectFailed } = failureSignal());
  }

  get groupId(): string {
    return this.options.groupId;
  }

  health(): PartHealth {
    const part = `group ${this.options.groupId}`;
    if (this.fatal) return { part, ready: false, detail: this.fatal.message };
    const oldest = Math.min(...[...this.callsStartedAt].map((call) => call.at));
    const callMs = this.callsStartedAt.size === 0 ? 0 : Date.now() - oldest;
    if (callMs > this.stuckAfterMs)
      return {
        part,
        ready: false,
        detail: `a call to ${this.options.sink.name} has been running for ${Math.round(callMs / 1000)} s`,
      };
    const problem = this.streak.problem();
    return problem ? { part, ready: false, detail: problem } : { part, ready: true };
  }

  /**
   * Opens the sink and joins the group. A broker, the registry or the store not answering yet is waited
   * for (with backoff, logged), so a group started while one of them restarts does not exit.
   */
  async start(): Promise<void> {
    const retryable = (error: unknown) => !this.stopping && classifyError(error) === 'retry';
    try {
      await withRetries(
        { ...this.options.backoff, attempts: Infinity },
        retryable,
        () => this.open(),
        (error, attempt) => {
          this.streak.failed(describeError(error));
          this.log.warn({ err: error, attempt }, 'cannot start yet; retrying');
        },
      );
    } catch (error) {
      // Stopped while it started: nothing failed.
      if (this.stopping) return;
      this.stopOnFatal(error);
      throw error;
    }
    this.streak.succeeded();
  }

  private async open(): Promise<void> {
    const { kafka, groupId, topics, sink, sessionTimeoutMs, codec } = this.options;
    await codec.checkAccess();
    await sink.open();
    this.deadLetters = new DeadLetters({
      kafka,
      groupId,
      topic: this.options.deadLetterTopic,
      maxMessageBytes: this.options.maxMessageBytes,
    });
    const sessionTimeout = sessionTimeoutMs ?? 30_000;
    // The rebalance timeout bounds how long a rebalance waits for members that died without leaving.
    // A fetch brings about a batch per partition (records of about a kilobyte), and one per partition
    // applied at once: larger batches are not cut down to what KafkaJS's 1 MiB default brings.
    const maxBytesPerPartition = Math.max(1 << 20, this.options.batchSize * 1024);
    const maxBytes = Math.max(10 << 20, maxBytesPerPartition * (this.options.partitionsConsumedConcurrently ?? 1));
    const consumer = kafka.consumer({
      groupId,
      readUncommitted: false,
      maxWaitTimeInMs: 250,
      maxBytesPerPartition,
      maxBytes,
      sessionTimeout,
      rebalanceTimeout: sessionTimeout,
      heartbeatInterval: Math.min(3_000, sessionTimeout / 3),
    });
    this.consumer = consumer;
    this.commits = new OffsetCommits(consumer, (error) =>
      this.log.debug({ err: error }, 'offsets not committed to Kafka (the store keeps the progress)'),
    );
    // A new assignment may bring partitions another member was applying: ask the sink again.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.membershipInDoubt = false;
      this.generation++;
      this.next.clear();
      void this.deadLetters?.reset();
      this.releaseRevoked(payload.memberAssignment);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.membershipInDoubt = true;
    });
    // Only a heartbeat the coordinator accepted: one skipped for being too soon after the last emits nothing.
    consumer.on(consumer.events.HEARTBEAT, () => {
      this.membershipInDoubt = false;
    });
    // KafkaJS gives up on a consumer after an error it does not retry: the group no longer works.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.stopOnFatal(payload.error);
    });
    // A batch made only of transaction markers (or aborted records) never reaches `handle`: KafkaJS resolves it
    // itself, and its offsets are committed once the partition's write before it has landed.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0) void this.commitAfterLanding(payload.topic, payload.partition, payload.lastOffset);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await asMember(
        {
          beforeJoin: async () => {
            this.joinsInProgress++;
            await this.drain();
          },
          afterJoin: () => this.joinsInProgress--,
        },
        () =>
          consumer.run({
            eachBatchAutoResolve: false,
            // Only offsets whose records landed are committed (OffsetCommits), not those merely fetched past.
            autoCommit: false,
            partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
            eachBatch: (payload) => outsideMember(() => this.handle(payload)),
          }),
      );
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      this.consumer = undefined;
      throw error;
    }
    this.log.info({ topics }, 'consumer group started');
  }

  /** Tells the sink which partitions the new assignment took from this member. */
  private releaseRevoked(assignment: Record<string, number[]>): void {
    const { assigned, revoked } = reassign(this.assigned, assignment);
    this.assigned = assigned;
    if (revoked.length > 0) this.options.sink.release?.(revoked);
  }

  /** The partition's first offset still held (records before it were deleted by retention). */
  private async logStart(topic: string, partition: number): Promise<bigint> {
    if (!this.admin) {
      this.admin = this.options.kafka.admin();
      await this.admin.connect();
    }
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return BigInt(offsets.find((offset) => offset.partition === partition)?.low ?? '0');
  }

  /** Waits for the writes in flight and the commit of their offsets. */
  private async drain(): Promise<void> {
    await this.writes.drain();
    await this.commits?.settled();
  }

  /**
   * Commits the partition's offsets through `lastOffset` once its write in flight has landed; not after a write
   * was given up or the partition reassigned (no `next`): those records are to be read again.
   */
  private async commitAfterLanding(topic: string, partition: number, lastOffset: string): Promise<void> {
    const key = `${topic}:${partition}`;
    if ((await this.writes.landed(key)) && this.next.has(key))
      this.commits?.landed(topic, partition, nextOf(lastOffset));
  }

  async stop(): Promise<void> {
    // No write starts from here on (`live`), and those in flight land before the member leaves.
    this.stopping = true;
    await this.drain();
    await this.admin?.disconnect();
    await this.consumer?.disconnect();
    await this.deadLetters?.close();
    await this.options.sink.close();
  }

  private async handle(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset } = payload;
    const { groupId, batchSize, sink } = this.options;
    const heartbeat = () =>
      payload.heartbeat().catch((error: unknown) => {
        this.membershipInDoubt = true;
        throw error;
      });
    const key = `${batch.topic}:${batch.partition}`;
    const generation = this.generation;
    const live = () =>
      mayWrite({
        running: payload.isRunning() && !this.stopping && this.joinsInProgress === 0,
        // A join (KafkaJS rejoins from inside a fetch too, while other fetchers' batches are handled) may have
        // given the partition to another member.
        stale: payload.isStale() || this.generation !== generation || !this.assigned.has(key),
        stoppedOnFatal: this.fatal !== undefined,
        inDoubt: this.membershipInDoubt,
      });
    // Before each write, the coordinator is asked whether it still counts this member in. KafkaJS sends a
    // heartbeat only once its interval has passed since the last accepted one (well inside the session, so
    // a member that skips it cannot have been evicted yet), and always after a refused one: a member frozen
    // past its session, or handed the rest of a fetch after KafkaJS's own heartbeat was refused, learns it
    // before it writes what the partitions' new owners write too.
    const stillMember = () =>
      heartbeat().then(
        () => true,
        () => false,
      );
    if (!(await stillMember()) || !live()) return;
    metrics.lag.set({ group: groupId, topic: batch.topic, partition: batch.partition }, Number(batch.offsetLag()));
    let next = this.next.get(key);
    if (next === undefined) {
      const loaded = await this.attempt(() => sink.progress(batch.topic, batch.partition), live, heartbeat);
      if (loaded.kind !== 'done') return;
      const start = await this.attempt(() => this.logStart(batch.topic, batch.partition), live, heartbeat);
      if (start.kind !== 'done') return;
      const resume = resumeAt(loaded.value, start.value, batch.firstOffset());
      if (resume.deleted) {
        const { from, to } = resume.deleted;
        metrics.gaps.inc({ group: groupId, topic: batch.topic });
        this.log.error(
          {
            topic: batch.topic,
            partition: batch.partition,
            applied: from.toString(),
            logStart: start.value.toString(),
          },
          `records ${from}..${to} of ${key} were deleted by retention before this group applied them: rebuild the store from a complete history (see connector.topics.retentionMs)`,
        );
      }
      next = resume.next;
      this.next.set(key, next);
      if (resume.seek) {
        this.consumer!.seek({ topic: batch.topic, partition: batch.partition, offset: next.toString() });
        return;
      }
    }
    if (!live()) return;
    const plan = planBatch(batch.messages, next, batchSize);
    if (plan.skipped > 0) metrics.skipped.inc({ group: groupId }, plan.skipped);
    if (plan.consumedWhole) {
      resolveOffset(batch.lastOffset());
      void this.commitAfterLanding(batch.topic, batch.partition, batch.lastOffset());
    }
    for (const [index, chunk] of plan.chunks.entries()) {
      if (!(await stillMember()) || !live()) return;
      const decoded = await this.attempt(() => this.decode(chunk), live, heartbeat);
      if (decoded.kind !== 'done') return;
      // Decoded while the partition's previous write landed. Given up (or the partition reassigned meanwhile),
      // `next` is gone or another: these records are read again from the store's progress.
      if (!(await this.writes.landed(key)) || this.next.get(key) !== next || !live()) return;
      if (
        (await this.attempt(() => this.deadLetter(batch, decoded.value.rejections, 'decode'), live, heartbeat)).kind !==
        'done'
      )
        return;
      const lastOffset = chunk.at(-1)!.offset;
      const slice = { records: decoded.value.records, nextOffset: nextOf(lastOffset) };
      // Through the batch's trailing transaction marker, as KafkaJS resolves it: the partition's lag reaches zero.
      const committed = index === plan.chunks.length - 1 ? batch.lastOffset() : lastOffset;
      const write = { batch, firstOffset: chunk[0]!.offset, slice, count: chunk.length, committed };
      const { landing } = await this.writes.start(key, () => this.write(write, live, heartbeat, stillMember));
      // Fetching goes on past the records in flight; `write` rewinds to them if they do not land.
      next = BigInt(slice.nextOffset);
      this.next.set(key, next);
      // The partition may have been taken while the write waited for a slot: it gives up then.
      if (!live()) return;
      resolveOffset(lastOffset);
      if (!canHoldJoins && !(await landing)) return;
    }
  }

  /**
   * Applies a slice and commits its offsets; true once it landed. The coordinator is asked first whether this
   * member still owns the partition (the write may have waited for a slot, or for the previous one to land). A
   * slice given up (the member stopping or joining, the partition lost or stale, a fatal error) rewinds the
   * partition to its first record: the member asks the store for its progress again and fetches from there, at
   * once rather than when the partition's next records come.
   */
  private async write(
    { batch, firstOffset, slice, count, committed }: PendingWrite,
    live: () => boolean,
    heartbeat: () => Promise<void>,
    stillMember: () => Promise<boolean>,
  ): Promise<boolean> {
    const { groupId } = this.options;
    const key = `${batch.topic}:${batch.partition}`;
    try {
      const landed = (await stillMember()) && live() && (await this.applyIsolating(batch, slice, live, heartbeat));
      if (!landed) {
        this.next.delete(key);
        if (!this.stopping && !this.fatal) this.rewind(batch.topic, batch.partition, firstOffset);
        return false;
      }
      metrics.records.inc({ group: groupId, topic: batch.topic }, count);
      observeEndToEnd(groupId, slice.records);
      this.commits?.landed(batch.topic, batch.partition, nextOf(committed));
      return true;
    } catch (error) {
      // Nothing awaits a write that was handed back with its batch: a programming error stops the group here.
      this.next.delete(key);
      this.stopOnFatal(error);
      return false;
    }
  }

  private rewind(topic: string, partition: number, offset: string): void {
    try {
      this.consumer?.seek({ topic, partition, offset });
    } catch (error) {
      // The consumer is gone (stopped, or KafkaJS restarting it): its next run resumes from the store anyway.
      this.log.debug({ err: error, topic, partition }, 'no rewind: the consumer is not running');
    }
  }

  /**
   * Applies a slice of a partition's records and the progress after them; a refusal that names no record is
   * narrowed down to the record refused (see isolateRefusal), which is dead-lettered.
   */
  private async applyIsolating(
    batch: Batch,
    slice: Slice<SinkRecord>,
    live: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    const { sink } = this.options;
    const outcome = await this.attempt(
      () =>
        sink.apply({ topic: batch.topic, partition: batch.partition, ...slice }, (rejections) =>
          this.deadLetter(batch, rejections, 'sink'),
        ),
      live,
      heartbeat,
    );
    if (outcome.kind === 'done') return true;
    if (outcome.kind === 'gone') return false;
    const isolation = isolateRefusal(slice);
    switch (isolation.kind) {
      case 'stop':
        this.stopOnFatal(outcome.error);
        return false;
      case 'dead-letter': {
        const rejection = {
          offset: isolation.record.offset,
          reason: `refused by the store: ${describeError(outcome.error)}`,
        };
        if ((await this.attempt(() => this.deadLetter(batch, [rejection], 'sink'), live, heartbeat)).kind !== 'done')
          return false;
        return this.applyIsolating(batch, isolation.then, live, heartbeat);
      }
      case 'halves':
        return (
          (await this.applyIsolating(batch, isolation.first, live, heartbeat)) &&
          this.applyIsolating(batch, isolation.second, live, heartbeat)
        );
    }
  }

  private async decode(messages: Batch['messages']): Promise<{ records: SinkRecord[]; rejections: Rejection[] }> {
    const records: SinkRecord[] = [];
    const rejections: Rejection[] = [];
    for (const message of messages) {
      const key = message.key?.toString() ?? '';
      if (message.value === null) {
        records.push({ offset: message.offset, key, event: null });
        continue;
      }
      try {
        // Without a promise per record once the schema id is known.
        const event = this.options.codec.decodeKnown(message.value) ?? (await this.options.codec.decode(message.value));
        records.push({ offset: message.offset, key, event });
      } catch (error) {
        if (isUnavailable(error)) throw error;
        if (isRegistryRefusal(error))
          throw new FatalError(`the schema registry refused this group: ${describeError(error)}`, { cause: error });
        rejections.push({ offset: message.offset, reason: `cannot decode: ${(error as Error).message}` });
      }
    }
    return { records, rejections };
  }

  /**
   * Runs `call` until it succeeds, retrying while the store is unavailable. `gone` when the group is
   * stopping, lost the partition, or stopped on a fatal error: the records are then read again by
   * whoever owns the partition.
   */
  private async attempt<T>(
    call: () => Promise<T>,
    live: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<Outcome<T>> {
    let retrying = false;
    try {
      for (let attempt = 0; ; attempt++) {
        // Each call of a write (its halves, a dead letter between them) goes ahead only while the member may write.
        if (!live()) return { kind: 'gone' };
        const started = { at: Date.now() };
        this.callsStartedAt.add(started);
        try {
          const value = await call();
          this.callsStartedAt.delete(started);
          // Another call still retrying keeps the failure streak going.
          if (this.retrying === (retrying ? 1 : 0)) this.streak.succeeded();
          return { kind: 'done', value };
        } catch (error) {
          this.callsStartedAt.delete(started);
          const failure = afterFailedCall(error, live());
          if (failure === 'gone') return { kind: 'gone' };
          if (failure === 'record') return { kind: 'record', error };
          if (failure === 'fatal') {
            this.stopOnFatal(error);
            return { kind: 'gone' };
          }
          if (!retrying) {
            retrying = true;
            this.retrying++;
          }
          metrics.retries.inc({ group: this.options.groupId });
          this.streak.failed(describeError(error));
          this.log.warn({ err: error, attempt }, `${this.options.sink.name} unavailable; retrying`);
          await sleep(backoffDelay(this.options.backoff, attempt));
          // A heartbeat refused (a rebalance, this member evicted while it waited) means the partition may be
          // another member's by now: let go rather than write beside the new owner.
          if (
            !live() ||
            !(await heartbeat().then(
              () => true,
              () => false,
            ))
          )
            return { kind: 'gone' };
        }
      }
    } finally {
      if (retrying) this.retrying--;
    }
  }

  private stopOnFatal(error: unknown): void {
    if (this.fatal) return;
    this.fatal =
      error instanceof FatalError
        ? error
        : new FatalError(`${this.options.groupId} (${this.options.sink.name}) stopped: ${describeError(error)}`, {
            cause: error,
          });
    metrics.fatal.inc({ group: this.options.groupId });
    this.log.error({ err: error }, this.fatal.message);
    this.rejectFailed(this.fatal);
  }

  private async deadLetter(batch: Batch, rejections: Rejection[], reason: string): Promise<void> {
    const written = await this.deadLetters!.write(batch, rejections);
    metrics.deadLetters.inc({ group: this.options.groupId, reason }, written);
  }
}

/** Seconds from each change at the source to now, when its batch was applied (records without a source time are left out). */
function observeEndToEnd(group: string, records: SinkRecord[], now = Date.now()): void {
  // The labelled child once per batch: a lookup by labels per record costs more than the observation.
  const histogram = metrics.endToEnd.labels({ group });
  for (const record of records) {
    const micros = record.event?.source.approximateCreationTimeMicros ?? 0;
    if (micros > 0) histogram.observe(Math.max(0, now - micros / 1000) / 1000);
  }
}
