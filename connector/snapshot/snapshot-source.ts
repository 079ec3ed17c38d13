import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { canonicalKey, type DynamoImage } from '../../schemas/change-event.ts';
import { snapshotStreamId } from '../checkpoint-keys.ts';
import { entityOf, type EntityRule } from '../events/entity.ts';
import type { SourceRecord } from '../events/source-record.ts';
import { Progress } from '../../core/progress.ts';
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
  /** The version of the rows: 0 for the initial snapshot, above everything written before the gap for a re-snapshot. */
  version?: string;
}

const segmentId = (segment: number): string => `segment-${segment}`;

/** The last "shard" of a re-snapshot run: its one read, after every segment finished, says what to sweep. */
export const SWEEP_SHARD = 'sweep';

/**
 * The initial snapshot as a shard source: a parallel Scan whose segments are the shards. A segment's
 * position is the key of the last item written, which is where DynamoDB resumes a scan
 * (ExclusiveStartKey), so a restart goes on from the committed page instead of starting over.
 * Rows are SNAPSHOT events with version 0: any stream change of the same item is newer.
 *
 * A re-snapshot after a gap gives its rows a version above everything written before the gap, and has
 * one more shard, `sweep`, whose parents are all the segments: once they are finished, it yields one
 * SWEEP event per entity topic of the table, telling the sinks that items below the run's version were
 * not found by the scan (deleted during the gap) and are to be removed.
 */
export class SnapshotSource implements ShardSource {
  readonly kind = 'SNAPSHOT' as const;
  readonly streamId: string;
  readonly table: string;
  private keyAttributes: string[] | undefined;
  /** Items scanned by this process, of the table's item count (DynamoDB updates that count every few hours). */
  private progress: Progress | undefined;
  private readonly started = Date.now();
  private consumedUnits = 0;
  private readonly version: string;
  /** Entities of the rows read, for the sweep where the rule does not list them. */
  private readonly seenEntities = new Set<string>();

  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly config: SnapshotConfig,
  ) {
    this.table = config.table;
    this.streamId = snapshotStreamId({ table: config.table, run: config.run });
    this.version = config.version ?? '0';
  }

  async listShards(): Promise<ShardInfo[]> {
    const segments = Array.from({ length: this.config.segments }, (_, segment) => ({
      shardId: segmentId(segment),
      parentShardIds: [],
      closed: true,
    }));
    if (!this.config.run) return segments;
    return [
      ...segments,
      { shardId: SWEEP_SHARD, parentShardIds: segments.map((segment) => segment.shardId), closed: true },
    ];
  }

  async iterator(shardId: string, position: ShardPosition): Promise<string> {
    if (shardId === SWEEP_SHARD) return SWEEP_SHARD;
    const segment = Number(shardId.slice('segment-'.length));
    const exclusiveStartKey = position.type === 'AFTER_SEQUENCE_NUMBER' ? position.sequenceNumber : undefined;
    return JSON.stringify({ segment, exclusiveStartKey });
  }

  async read(shardId: string, iterator: string, limit: number): Promise<ReadResult> {
    if (shardId === SWEEP_SHARD) return { records: this.sweepRecords(), nextIterator: undefined };
    const { segment, exclusiveStartKey } = JSON.parse(iterator) as { segment: number; exclusiveStartKey?: string };
    if (!this.keyAttributes) {
      const { keyAttributes, itemCount } = await this.describeTable();
      this.keyAttributes = keyAttributes;
      this.progress = new Progress(
        this.config.run ? `re-snapshot ${this.table} (${this.config.run})` : `snapshot ${this.table}`,
        itemCount,
        { logOnly: true },
      );
    }
    await this.respectBudget();
    const page = await this.dynamodb.send(
      new ScanCommand({
        TableName: this.table,
        Segment: segment,
        TotalSegments: this.config.segments,
        Limit: limit,
        ConsistentRead: true,
        ExclusiveStartKey: exclusiveStartKey
          ? (reviveKey(JSON.parse(exclusiveStartKey)) as Record<string, AttributeValue>)
          : undefined,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.consumedUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    const items = (page.Items ?? []) as DynamoImage[];
    this.progress?.advance(items.length);
    return {
      records: items.map((item) => this.toSourceRecord(shardId, item)),
      nextIterator: page.LastEvaluatedKey
        ? JSON.stringify({ segment, exclusiveStartKey: JSON.stringify(page.LastEvaluatedKey) })
        : undefined,
    };
  }

  private async describeTable(): Promise<{ keyAttributes: string[]; itemCount: number | undefined }> {
    const { Table } = await this.dynamodb.send(new DescribeTableCommand({ TableName: this.table }));
    return {
      keyAttributes: (Table?.KeySchema ?? []).map((element) => element.AttributeName!),
      itemCount: Table?.ItemCount,
    };
  }

  /** Spreads the scan so that it uses no more than the configured read capacity a second. */
  private async respectBudget(): Promise<void> {
    if (this.config.readCapacityPerSecond <= 0) return;
    const earliest = this.started + (this.consumedUnits / this.config.readCapacityPerSecond) * 1000;
    const wait = earliest - Date.now();
    if (wait > 0) await sleep(wait);
  }

  /** One SWEEP per entity topic of the table: the declared entities, or those the run's rows had. */
  private sweepRecords(): SourceRecord[] {
    const rule = this.config.entityRule;
    const entities = rule.declared ?? (rule.kind === 'fixed' ? [rule.name] : [...this.seenEntities]);
    const now = Date.now() * 1000;
    return entities.map((entity) => ({
      sequenceNumber: SWEEP_SHARD,
      approximateCreationTimeMicros: now,
      raw: () => ({ sweep: entity }),
      toEvent: () => ({
        op: 'SWEEP',
        eventId: `${this.streamId}:${SWEEP_SHARD}:${entity}`,
        table: this.table,
        entity,
        version: this.version,
        keys: {},
        before: null,
        after: null,
        source: {
          kind: 'SNAPSHOT',
          region: this.config.region,
          table: this.table,
          stream: this.streamId,
          shardId: SWEEP_SHARD,
          sequenceNumber: SWEEP_SHARD,
          approximateCreationTimeMicros: now,
          userIdentity: null,
          ttlDelete: false,
        },
      }),
    }));
  }

  async revive(shardId: string, raw: unknown): Promise<SourceRecord> {
    this.keyAttributes ??= (await this.describeTable()).keyAttributes;
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
      version: this.version,
      raw: () => item,
      toEvent: () => {
        const entity = entityOf(this.config.entityRule, keys, item);
        this.seenEntities.add(entity);
        return {
          op: 'SNAPSHOT',
          eventId: `${this.streamId}:${canonicalKey(keys)}`,
          table: this.table,
          entity,
          version: this.version,
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
        };
      },
    };
  }
}

/** JSON turns binary key values into objects of numbered bytes; put them back for ExclusiveStartKey. */
function reviveKey(
  key: Record<string, { S?: string; N?: string; B?: Record<string, number> | string }>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(key).map(([name, value]) => [
      name,
      value.B !== undefined && typeof value.B === 'object' ? { B: Uint8Array.from(Object.values(value.B)) } : value,
    ]),
  );
}
