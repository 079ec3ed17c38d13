import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import type { EntityRule } from '../events/entity.ts';
import { streamChangeToEvent } from '../events/change.ts';
import type { SourceRecord } from '../events/source-record.ts';
import type { ReadResult, ShardInfo, ShardPosition, ShardSource } from '../shards/source.ts';
import { parseKinesisChange } from './record-format.ts';
import { timedVersion } from '../events/version.ts';

export interface KinesisStreamConfig {
  /** The DynamoDB table whose changes the stream carries. */
  table: string;
  streamName: string;
  region: string;
  entityRule: EntityRule;
}

/**
 * Kinesis Data Streams for DynamoDB as a shard source. The stream may carry a change twice and out of
 * order: each record's DynamoDB event id feeds duplicate removal, and its creation time then its
 * sequence number make the per-item version that lets sinks keep the newest change whatever the order.
 */
export class KinesisSource implements ShardSource {
  readonly kind = 'KINESIS' as const;
  readonly streamId: string;
  readonly table: string;

  constructor(
    private readonly client: KinesisClient,
    private readonly config: KinesisStreamConfig,
  ) {
    this.streamId = config.streamName;
    this.table = config.table;
  }

  async listShards(): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let nextToken: string | undefined;
    do {
      // With a NextToken the stream name must be left out.
      const page = await this.client.send(
        new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: this.streamId }),
      );
      for (const shard of page.Shards ?? []) {
        if (!shard.ShardId) continue;
        shards.push({
          shardId: shard.ShardId,
          parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => Boolean(id)),
          closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined,
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  async iterator(shardId: string, position: ShardPosition): Promise<string> {
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamName: this.streamId,
        ShardId: shardId,
        ShardIteratorType: position.type,
        StartingSequenceNumber: 'sequenceNumber' in position ? position.sequenceNumber : undefined,
      }),
    );
    if (!ShardIterator) throw new Error(`no iterator for ${shardId}`);
    return ShardIterator;
  }

  async read(shardId: string, iterator: string, limit: number): Promise<ReadResult> {
    const { Records, NextShardIterator, MillisBehindLatest } = await this.client.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }),
    );
    return {
      records: (Records ?? []).map((record) => this.toSourceRecord(shardId, record)),
      nextIterator: NextShardIterator,
      millisBehindLatest: MillisBehindLatest,
    };
  }

  async revive(shardId: string, raw: unknown): Promise<SourceRecord> {
    const { sequenceNumber, partitionKey, data } = raw as {
      sequenceNumber: string;
      partitionKey?: string;
      data: string;
    };
    return this.toSourceRecord(shardId, {
      SequenceNumber: sequenceNumber,
      PartitionKey: partitionKey,
      Data: Buffer.from(data, 'utf8'),
    });
  }

  private toSourceRecord(shardId: string, record: KinesisRecord): SourceRecord {
    const sequenceNumber = record.SequenceNumber ?? '';
    const data = Buffer.from(record.Data ?? new Uint8Array());
    // Parsed once here for the dedupe id and creation time; a record that fails to parse becomes a dead letter.
    const parsed = parseKinesisChange(data);
    const approximateCreationTimeMicros = parsed.ok
      ? parsed.change.creationTimeMicros
      : (record.ApproximateArrivalTimestamp?.getTime() ?? 0) * 1000;
    return {
      sequenceNumber,
      approximateCreationTimeMicros,
      dedupeId: parsed.ok ? parsed.change.eventId : undefined,
      raw: () => ({ sequenceNumber, partitionKey: record.PartitionKey, data: data.toString('utf8') }),
      toEvent: () => {
        if (!parsed.ok) throw parsed.error;
        const { change } = parsed;
        return streamChangeToEvent(change, {
          table: change.tableName ?? this.table,
          entityRule: this.config.entityRule,
          version: timedVersion(change.creationTimeMicros, sequenceNumber),
          position: {
            kind: 'KINESIS',
            region: change.awsRegion ?? this.config.region,
            stream: this.streamId,
            shardId,
            sequenceNumber,
            approximateCreationTimeMicros,
          },
        });
      },
    };
  }
}
