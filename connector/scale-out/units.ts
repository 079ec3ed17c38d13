import { parseSnapshotStreamId } from '../checkpoint-keys.ts';
import type { Checkpoint } from '../checkpoints.ts';
import { crc32c } from '../crc32c.ts';
import type { ShardSource } from '../shards/source.ts';

/**
 * What one assignment unit of a scaled-out connector reads: the shards that hash to it. Every instance
 * computes the same mapping from the same inputs (the stream, the shard, the number of units), so a unit
 * names the same shards wherever it runs.
 */
export interface UnitScope {
  unit: number;
  owns(source: ShardSource, shardId: string): boolean;
  /** Every unit's committed checkpoints (read_committed): other units' finished parents, re-snapshot runs begun elsewhere. */
  committedCheckpoints(): Promise<Map<string, Checkpoint>>;
  /** The instance is leaving the group: no other instance takes the unit before its units have stopped. */
  leavingGroup(): boolean;
}

/** A stable hash of the text onto `units` units. */
export function unitOf(text: string, units: number): number {
  return crc32c(Buffer.from(text, 'utf8')) % units;
}

/**
 * The unit that reads a shard. A table scan (the initial snapshot, or a re-snapshot run after a gap) stays
 * whole in one unit, by its stream: its segments and its closing sweep share state (the run's version).
 * A stream's shards spread by stream and shard id.
 */
export function unitOfShard(source: Pick<ShardSource, 'kind' | 'streamId'>, shardId: string, units: number): number {
  return source.kind === 'SNAPSHOT' ? unitOf(source.streamId, units) : unitOf(`${source.streamId}|${shardId}`, units);
}

/** The unit of a shard named by its checkpoint key's stream and shard (as `status` knows it). */
export const unitOfCheckpoint = (stream: string, shard: string, units: number): number =>
  unitOfShard(
    { kind: parseSnapshotStreamId(stream) ? 'SNAPSHOT' : 'DYNAMODB_STREAMS', streamId: stream },
    shard,
    units,
  );

/** The transactional id of a connector that is not scaled out: one instance reads every shard. */
export const connectorTransactionalId = (connector: string): string => `shardline-connector-${connector}`;

/** A unit's transactional id: its new owner fences the previous one with it before reading its checkpoints. */
export const unitTransactionalId = (connector: string, unit: number): string =>
  `${connectorTransactionalId(connector)}-unit-${unit}`;
