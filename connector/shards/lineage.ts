import type { ShardInfo } from './source.ts';

export interface LineageState {
  /** Shards read to their end (committed), by id. */
  finished: ReadonlySet<string>;
  /** Shards with a committed position, by id. */
  started: ReadonlySet<string>;
}

export interface LineagePlan {
  /** Shards that may be read now: not finished, and every parent finished or gone before it was needed. */
  readable: ShardInfo[];
  /** Parents that vanished from the stream after reading began but before they were finished: a gap. */
  vanished: { shardId: string; childShardId: string }[];
}

/**
 * Parents before children: a child is readable once each parent is finished. A parent that is no
 * longer listed was either trimmed before this connector ever read it (its changes are older than the
 * retention and not ours to lose) or vanished mid-read (a gap, reported).
 */
export function planShards(shards: readonly ShardInfo[], state: LineageState): LineagePlan {
  const listed = new Set(shards.map((shard) => shard.shardId));
  const readable: ShardInfo[] = [];
  const vanished: LineagePlan['vanished'] = [];
  for (const shard of shards) {
    if (state.finished.has(shard.shardId)) continue;
    let blocked = false;
    for (const parent of shard.parentShardIds) {
      if (state.finished.has(parent)) continue;
      if (listed.has(parent)) {
        blocked = true;
      } else if (state.started.has(parent) && !vanished.some((gap) => gap.shardId === parent)) {
        // Once, however many children name it.
        vanished.push({ shardId: parent, childShardId: shard.shardId });
      }
    }
    if (!blocked) readable.push(shard);
  }
  return { readable, vanished };
}
