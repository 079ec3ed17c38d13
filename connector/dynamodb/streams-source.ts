import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { ConversionError, type DynamoImage } from '../../schemas/change-event.ts';
import type { EntityRule } from '../events/entity.ts';
import { streamChangeToEvent } from '../events/change.ts';
import { timedVersion } from '../events/version.ts';
import type { SourceRecord } from '../events/source-record.ts';
import type { ReadResult, ShardInfo, ShardPosition, ShardSource } from '../shards/source.ts';
import { streamCreatedMicros } from './stream-created.ts';

export interface DynamoDbStreamConfig {
  table: string;
  streamArn: string;
  region: string;
  entityRule: EntityRule;
}

/** DynamoDB Streams as a shard source: discovery with pagination, iterators, and record conversion. */
export class DynamoDbStreamSource implements ShardSource {
  readonly kind = 'DYNAMODB_STREAMS' as const;
  readonly streamId: string;
  readonly table: string;
  /** Begins every version of this stream's changes (see timedVersion). */
  private readonly createdMicros: number;

  constructor(
    private readonly client: DynamoDBStreamsClient,
    private readonly config: DynamoDbStreamConfig,
  ) {
    this.streamId = config.streamArn;
    this.table = config.table;
    this.createdMicros = streamCreatedMicros(config.streamArn);
  }

  async listShards(): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let exclusiveStart: string | undefined;
    // DescribeStream returns at most 100 shards a call.
    do {
      const { StreamDescription } = await this.client.send(
        new DescribeStreamCommand({ StreamArn: this.streamId, ExclusiveStartShardId: exclusiveStart }),
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        if (!shard.ShardId) continue;
        shards.push({
          shardId: shard.ShardId,
          parentShardIds: shard.ParentShardId ? [shard.ParentShardId] : [],
          closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined,
        });
      }
      exclusiveStart = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStart);
    return shards;
  }

  async iterator(shardId: string, position: ShardPosition): Promise<string> {
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamId,
        ShardId: shardId,
        ShardIteratorType: position.type,
        SequenceNumber: 'sequenceNumber' in position ? position.sequenceNumber : undefined,
      }),
    );
    if (!ShardIterator) throw new Error(`no iterator for ${shardId}`);
    return ShardIterator;
  }

  async read(shardId: string, iterator: string, limit: number): Promise<ReadResult> {
    const { Records, NextShardIterator } = await this.client.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }),
    );
    return {
      records: (Records ?? []).map((record) => this.toSourceRecord(shardId, record)),
      nextIterator: NextShardIterator,
    };
  }

  async revive(shardId: string, raw: unknown): Promise<SourceRecord> {
    // JSON turned the creation time into a string.
    const record = raw as StreamRecord;
    const created = record.dynamodb?.ApproximateCreationDateTime as unknown as string | undefined;
    return this.toSourceRecord(shardId, {
      ...record,
      dynamodb: record.dynamodb && {
        ...record.dynamodb,
        ApproximateCreationDateTime: created === undefined ? undefined : new Date(created),
      },
    });
  }

  private toSourceRecord(shardId: string, record: StreamRecord): SourceRecord {
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    const created = record.dynamodb?.ApproximateCreationDateTime;
    const approximateCreationTimeMicros = created ? created.getTime() * 1000 : 0;
    // Sequence numbers grow with time within a shard and from parent to child: a per-item version within the
    // stream, after the stream's creation time, so a later stream of the table is newer.
    // A record whose sequence number cannot make one has none: its conversion fails (a dead letter), not the read.
    let version: string | undefined;
    try {
      version = timedVersion(this.createdMicros, sequenceNumber);
    } catch (error) {
      if (!(error instanceof ConversionError)) throw error;
    }
    return {
      sequenceNumber,
      approximateCreationTimeMicros,
      version,
      raw: () => record,
      toEvent: () =>
        streamChangeToEvent(
          {
            eventName: record.eventName,
            eventId: record.eventID,
            keys: record.dynamodb?.Keys as DynamoImage | undefined,
            oldImage: record.dynamodb?.OldImage as DynamoImage | undefined,
            newImage: record.dynamodb?.NewImage as DynamoImage | undefined,
            userIdentity: record.userIdentity
              ? { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId }
              : undefined,
          },
          {
            table: this.table,
            entityRule: this.config.entityRule,
            version: version ?? timedVersion(this.createdMicros, sequenceNumber),
            position: {
              kind: 'DYNAMODB_STREAMS',
              region: record.awsRegion ?? this.config.region,
              stream: this.streamId,
              shardId,
              sequenceNumber,
              approximateCreationTimeMicros,
            },
          },
        ),
    };
  }
}
