import type { SourceKind } from '../../schemas/change-event.ts';
import type { SourceRecord } from '../events/source-record.ts';

export interface ShardInfo {
  shardId: string;
  /** Shards that must be read to their end first (Kinesis merges have two). */
  parentShardIds: string[];
  /** The shard has an ending sequence number: once read to its end it is retired. */
  closed: boolean;
}

export type ShardPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string }
  /** Streams and Kinesis only: where a LATEST read first found records, to read them again after a failed round. */
  | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string };

export interface ReadResult {
  records: SourceRecord[];
  /** Undefined once a closed shard has been read to its end. */
  nextIterator: string | undefined;
  /** How far behind the tip the read was, where the source tells (Kinesis). */
  millisBehindLatest?: number;
}

/** A sharded change stream: DynamoDB Streams, Kinesis Data Streams, or a table scan's segments. */
export interface ShardSource {
  readonly kind: SourceKind;
  /** Stream ARN or Kinesis stream name: part of every checkpoint key. */
  readonly streamId: string;
  readonly table: string;
  listShards(): Promise<ShardInfo[]>;
  iterator(shardId: string, position: ShardPosition): Promise<string>;
  read(shardId: string, iterator: string, limit: number): Promise<ReadResult>;
  /** A record as its `raw()` gave it to the dead-letter topic, made a source record again for a replay. */
  revive(shardId: string, raw: unknown): Promise<SourceRecord>;
}
