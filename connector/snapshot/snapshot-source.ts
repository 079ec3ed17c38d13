import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { canonicalKey, type DynamoImage } from '../../schemas/change-event.ts';
import { entityOf, type EntityRule } from '../events/entity.ts';
import type { SourceRecord } from '../events/source-record.ts';
import type { ReadResult, ShardInfo, ShardPosition, ShardSource } from '../shards/source.ts';

export interface SnapshotConfig {
  table: string;
  region: string;
  entityRule: EntityRule;
  /** Parallel scan segments: each is read like a shard and checkpointed on its own. */
  segments: number;
  /** Read capacity units a second the scan may use in all (0: no limit). */
  readCapacityPerSecond: number;
  /** Distinguishes a re-snapshot (after a gap) from the initial one; part of the checkpoint keys. */
  run?: string;
}

const segmentId = (segment: number): string => `segment-${segment}`;

/**
 * The initial snapshot as a shard source: a parallel Scan whose segments are the shards. A segment's
 * position is the key of the last item written, which is where DynamoDB resumes a scan
 * (ExclusiveStartKey), so a restart goes on from the committed page instead of starting over.
 * Rows are SNAPSHOT events with version 0: any stream change of the same item is newer.
 */
export class SnapshotSource implements ShardSource {
  readonly kind = 'SNAPSHOT' as const;
  readonly streamId: string;
  readonly table: string;
  private keyAttributes: string[] | undefined;
  private readonly started = Date.now();
  private consumedUnits = 0;

  constructor(private readonly dynamodb: DynamoDBClient, private readonly config: SnapshotConfig) {
    this.table = config.table;
    this.streamId = config.run ? `snapshot:${config.table}:${config.run}` : `snapshot:${config.table}`;
  }

  async listShards(): Promise<ShardInfo[]> {
    return Array.from({ length: this.config.segments }, (_, segment) => ({ shardId: segmentId(segment), parentShardIds: [], closed: true }));
  }

  async iterator(shardId: string, position: ShardPosition): Promise<string> {
    const segment = Number(shardId.slice('segment-'.length));
    const exclusiveStartKey = position.type === 'AFTER_SEQUENCE_NUMBER' ? position.sequenceNumber : undefined;
    return JSON.stringify({ segment, exclusiveStartKey });
  }

  async read(shardId: string, iterator: string, limit: number): Promise<ReadResult> {
    const { segment, exclusiveStartKey } = JSON.parse(iterator) as { segment: number; exclusiveStartKey?: string };
    this.keyAttributes ??= await this.describeKey();
    await this.respectBudget();
    const page = await this.dynamodb.send(new ScanCommand({
      TableName: this.table,
      Segment: segment,
      TotalSegments: this.config.segments,
      Limit: limit,
      ConsistentRead: true,
      ExclusiveStartKey: exclusiveStartKey ? (reviveKey(JSON.parse(exclusiveStartKey)) as Record<string, AttributeValue>) : undefined,
      ReturnConsumedCapacity: 'TOTAL',
    }));
    this.consumedUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    const items = (page.Items ?? []) as DynamoImage[];
    return {
      records: items.map((item) => this.toSourceRecord(shardId, item)),
      nextIterator: page.LastEvaluatedKey ? JSON.stringify({ segment, exclusiveStartKey: JSON.stringify(page.LastEvaluatedKey) }) : undefined,
    };
  }

  private async describeKey(): Promise<string[]> {
    const { Table } = await this.dynamodb.send(new DescribeTableCommand({ TableName: this.table }));
    return (Table?.KeySchema ?? []).map((element) => element.AttributeName!);
  }

  /** Spreads the scan so that it uses no more than the configured read capacity a second. */
  private async respectBudget(): Promise<void> {
    if (this.config.readCapacityPerSecond <= 0) return;
    const earliest = this.started + (this.consumedUnits / this.config.readCapacityPerSecond) * 1000;
    const wait = earliest - Date.now();
    if (wait > 0) await sleep(wait);
  }

  async revive(shardId: string, raw: unknown): Promise<SourceRecord> {
    this.keyAttributes ??= await this.describeKey();
    return this.toSourceRecord(shardId, raw as DynamoImage);
  }

  private toSourceRecord(shardId: string, item: DynamoImage): SourceRecord {
    const keys: DynamoImage = Object.fromEntries(this.keyAttributes!.map((name) => [name, item[name]!]));
    // The item's key is where the scan resumes after it.
    const sequenceNumber = JSON.stringify(keys);
    const now = Date.now() * 1000;
    return {
      sequenceNumber,
      approximateCreationTimeMicros: now,
      raw: () => item,
      toEvent: () => ({
        op: 'SNAPSHOT',
        eventId: `${this.streamId}:${canonicalKey(keys)}`,
        table: this.table,
        entity: entityOf(this.config.entityRule, keys, item),
        version: '0',
        keys,
        before: null,
        after: item,
        source: {
          kind: 'SNAPSHOT',
          region: this.config.region,
          table: this.table,
          stream: this.streamId,
          shardId,
          sequenceNumber,
          approximateCreationTimeMicros: now,
          userIdentity: null,
          ttlDelete: false,
        },
      }),
    };
  }
}

/** JSON turns binary key values into objects of numbered bytes; put them back for ExclusiveStartKey. */
function reviveKey(key: Record<string, { S?: string; N?: string; B?: Record<string, number> | string }>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(key).map(([name, value]) =>
    [name, value.B !== undefined && typeof value.B === 'object' ? { B: Uint8Array.from(Object.values(value.B)) } : value]));
}
