import type { ChangeEvent } from '../../schemas/change-event.ts';

/** One Kafka record for a sink: a decoded change event, or null for a tombstone. */
export interface SinkRecord {
  offset: string;
  key: string;
  event: ChangeEvent | null;
}

/** Consecutive records of one partition. */
export interface SinkBatch {
  topic: string;
  partition: number;
  records: SinkRecord[];
  /** The offset after the last record: the progress a sink stores with the batch. */
  nextOffset: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A record the sink cannot apply however often it is retried (bad data, a mapping conflict). */
export interface Rejection {
  offset: string;
  reason: string;
}

/**
 * Where a sink keeps its progress: the next offset to apply per partition, in its own store. The group reads it
 * when it meets a partition and resumes there (batch-plan.ts, resumeAt); the sink writes it with the data of
 * each batch, in `apply`, atomically or after the data (which replays, idempotently, what a crash cut short).
 */
export interface ProgressStore {
  /** The next offset this sink needs for a partition, from its own store; undefined if it has none. */
  progress(topic: string, partition: number): Promise<string | undefined>;
}

/**
 * What a sink module implements to become a consumer group. The runtime owns batching, decoding,
 * retries, the dead-letter topic, metrics, rebalances and shutdown; the sink owns its store.
 *
 * Exactly once is the sink's half of the contract: `apply` must leave the store as if each change were
 * applied once, however often a batch (or a part of it) is replayed, and it stores `nextOffset` as its
 * progress with (or after) its writes. `progress` returns what it stored, and the group resumes there.
 */
export interface Sink extends ProgressStore {
  readonly name: string;
  /** Creates tables, indices or scripts; idempotent. */
  open(): Promise<void>;
  /**
   * Applies a batch and stores its progress; throws while the store is unavailable (the runtime
   * retries). Records it can never apply go to `deadLetter`, which must be awaited before the progress
   * is stored, so that a crash in between replays them rather than losing them.
   */
  apply(batch: SinkBatch, deadLetter: (rejections: Rejection[]) => Promise<void>): Promise<void>;
  /**
   * Partitions this member no longer owns (revoked or lost in a rebalance): what the sink keeps in memory for
   * them can go. Called from the rebalance, so it must not wait on the store; a batch of such a partition
   * still in flight may complete after it.
   */
  release?(partitions: TopicPartition[]): void;
  close(): Promise<void>;
}
