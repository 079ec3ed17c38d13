import type { ChangeEvent } from '../../schemas/change-event.ts';

/** One record read from a shard, before it becomes a change event. */
export interface SourceRecord {
  /** Position in the shard: what a checkpoint stores and an iterator resumes after. */
  sequenceNumber: string;
  approximateCreationTimeMicros: number;
  /** Converts to the change event; throws ConversionError for a record that cannot be converted. */
  toEvent(): ChangeEvent;
  /** The record as received, for the dead-letter topic. */
  raw(): unknown;
  /** The change's version where the source knows it without converting the record (DynamoDB Streams, scans). */
  version?: string;
  /** An id the source may deliver twice (Kinesis); undefined where the source never duplicates. */
  dedupeId?: string;
}
