import { classifyError, type ErrorClass } from '../../core/errors.ts';
import { PartitionTakenOver } from './dead-letters.ts';
import type { TopicPartition } from './sink.ts';

/**
 * A consumer group's exactly-once decisions, apart from the I/O that carries them out (consumers/runtime/group.ts):
 * where a partition resumes, which records of a fetched batch are applied, what a failed call does next, when a
 * member may still write, and which partitions a new assignment releases.
 */

/** Where a partition resumes the first time this member sees it since its last assignment. */
export interface Resume {
  /** The next offset to apply. */
  next: bigint;
  /** Offsets the store needed but retention deleted (`from`..`to`, both included): the store cannot be exact any more. */
  deleted?: { from: bigint; to: bigint };
  /** Kafka's committed offset is ahead of the store (its store was reset, or lost a write): fetch again from `next`. */
  seek: boolean;
}

/**
 * The store's progress decides, whatever Kafka's committed offset says: `stored` is the sink's next offset
 * (none: from the start), `logStart` the partition's first offset still held, `firstFetched` the first offset
 * of the batch Kafka handed over (null for an empty batch). Records below `next` are applied already.
 */
export function resumeAt(stored: string | undefined, logStart: bigint, firstFetched: string | null): Resume {
  const applied = BigInt(stored ?? '0');
  // Going on from the log's start as if nothing happened would hide the loss: the caller says it loudly.
  const deleted = applied < logStart ? { from: applied, to: logStart - 1n } : undefined;
  const next = deleted ? logStart : applied;
  return { next, ...(deleted && { deleted }), seek: next < BigInt(firstFetched ?? '0') };
}

/** What a member does with one fetched batch of a partition. */
export interface BatchPlan<T> {
  /** Records below the stored progress: redelivered after the store applied them, not applied again. */
  skipped: number;
  /** The records to apply, at most `batchSize` a chunk, in offset order. */
  chunks: T[][];
  /** Every record was applied before: the batch is marked consumed at once (no chunk will mark it). */
  consumedWhole: boolean;
}

/**
 * Offsets rise within a partition's batch, with gaps where compaction removed records or an aborted
 * transaction's records and markers were left out: the records already applied are a prefix of it.
 */
export function planBatch<T extends { offset: string }>(
  messages: readonly T[],
  next: bigint,
  batchSize: number,
): BatchPlan<T> {
  let firstFresh = 0;
  while (firstFresh < messages.length && BigInt(messages[firstFresh]!.offset) < next) firstFresh++;
  const chunks: T[][] = [];
  for (let start = firstFresh; start < messages.length; start += batchSize)
    chunks.push(messages.slice(start, start + batchSize));
  return { skipped: firstFresh, chunks, consumedWhole: firstFresh > 0 && chunks.length === 0 };
}

/** What a failed store, registry or dead-letter call does next: its class (core/errors.ts), or `gone`. */
export type CallFailure = ErrorClass | 'gone';

/**
 * `gone` when this member may no longer write (stopping, the partition lost, stopped on a fatal error) or
 * another member fenced its dead-letter producer: whoever owns the partition reads the records again.
 */
export function afterFailedCall(error: unknown, live: boolean): CallFailure {
  if (!live || error instanceof PartitionTakenOver) return 'gone';
  return classifyError(error);
}

/** What this member knows of its membership while it applies a batch. */
export interface Membership {
  /** KafkaJS still runs the consumer. */
  running: boolean;
  /** KafkaJS learnt of a rebalance since it fetched the batch. */
  stale: boolean;
  /** The group stopped on a fatal error. */
  stoppedOnFatal: boolean;
  /** A heartbeat was refused, or a rebalance began, and no heartbeat or join has succeeded since. */
  inDoubt: boolean;
}

/**
 * Whether a write may go ahead. A member evicted (frozen past its session, its heartbeat refused) is handed
 * the rest of a fetch by KafkaJS all the same; the partitions' new owners apply those records too.
 */
export const mayWrite = (membership: Membership): boolean =>
  membership.running && !membership.stale && !membership.stoppedOnFatal && !membership.inDoubt;

/** Records ending at `nextOffset`: the progress stored with them. */
export interface Slice<T> {
  records: T[];
  nextOffset: string;
}

/**
 * The store refused a batch without saying which record: the records are applied in halves (sinks are
 * idempotent, so what a failed half wrote is harmless) until the one refused is alone. Its dead letter is
 * written before the progress past it is stored (an empty slice), so that a crash in between replays the
 * record rather than losing it. Refused with no record in it, the store refuses the progress itself, which
 * no record explains: the group stops.
 */
export type Isolation<T> =
  | { kind: 'stop' }
  | { kind: 'dead-letter'; record: T; then: Slice<T> }
  | { kind: 'halves'; first: Slice<T>; second: Slice<T> };

export function isolateRefusal<T extends { offset: string }>({ records, nextOffset }: Slice<T>): Isolation<T> {
  if (records.length === 0) return { kind: 'stop' };
  if (records.length === 1) return { kind: 'dead-letter', record: records[0]!, then: { records: [], nextOffset } };
  const half = Math.ceil(records.length / 2);
  const first = records.slice(0, half);
  return {
    kind: 'halves',
    first: { records: first, nextOffset: nextOf(first.at(-1)!.offset) },
    second: { records: records.slice(half), nextOffset },
  };
}

/**
 * A new assignment, from the join: the partitions it gives this member by `topic:partition`, and those of the
 * previous assignment it no longer does (KafkaJS has no revoke callback), whose in-memory state can go.
 */
export function reassign(
  previous: ReadonlyMap<string, TopicPartition>,
  assignment: Record<string, number[]>,
): { assigned: Map<string, TopicPartition>; revoked: TopicPartition[] } {
  const assigned = new Map(
    Object.entries(assignment).flatMap(([topic, partitions]) =>
      partitions.map((partition): [string, TopicPartition] => [`${topic}:${partition}`, { topic, partition }]),
    ),
  );
  const revoked = [...previous].flatMap(([key, partition]) => (assigned.has(key) ? [] : [partition]));
  return { assigned, revoked };
}

/** The offset after `offset`. */
export const nextOf = (offset: string): string => (BigInt(offset) + 1n).toString();
