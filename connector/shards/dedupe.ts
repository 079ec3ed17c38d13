/**
 * Most event ids a shard's checkpoint carries, whatever the window: checkpoints are written with every
 * round, so their size is bounded (about 40 bytes an id).
 */
export const MAX_CHECKPOINTED_IDS = 2_000;

/**
 * Remembers the last `capacity` event ids, oldest forgotten first. Kinesis Data Streams for DynamoDB
 * may deliver a change twice; the copies arrive close together, so a bounded window catches them.
 * Each shard's newest ids also go into its checkpoint (same transaction as the events), so a restarted
 * connector is seeded with them and still recognises a copy of a record committed before the restart.
 */
export class DedupeWindow {
  private readonly ids = new Set<string>();
  /** Per shard (checkpoint key): its newest committed ids, oldest first. */
  private readonly recentByShard = new Map<string, string[]>();
  private readonly perShard: number;

  constructor(private readonly capacity: number) {
    this.perShard = Math.min(capacity, MAX_CHECKPOINTED_IDS);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * The ids a shard's checkpoint carries if this round commits: its newest committed ids, then the
   * round's (event id -> shard) for that shard.
   */
  recent(shard: string, round: Map<string, string>): string[] {
    const fresh = [...round].filter(([, of]) => of === shard).map(([id]) => id);
    return [...(this.recentByShard.get(shard) ?? []), ...fresh].slice(-this.perShard);
  }

  /** Called once a round (event id -> shard) is committed: a failed round forgets nothing it did not write. */
  remember(round: Map<string, string>): void {
    for (const [id, shard] of round) {
      this.add(id);
      const recent = this.recentByShard.get(shard);
      if (recent) recent.push(id);
      else this.recentByShard.set(shard, [id]);
    }
    for (const [shard, recent] of this.recentByShard) {
      if (recent.length > this.perShard) this.recentByShard.set(shard, recent.slice(-this.perShard));
    }
  }

  /** A restart: the ids a shard's committed checkpoint carries. */
  seed(shard: string, ids: string[]): void {
    for (const id of ids) this.add(id);
    this.recentByShard.set(shard, ids.slice(-this.perShard));
  }

  private add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
  }
}
