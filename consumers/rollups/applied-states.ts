import { BloomFilter } from './bloom.ts';
import { itemId, type ItemState } from './contribution.ts';

/** States kept per items table and sink, over all its partitions: about half a kilobyte each. */
export const DEFAULT_KEPT_STATES = 500_000;

interface PartitionStates {
  /** States of this partition's items as the store holds them, oldest first. */
  states: Map<string, ItemState>;
  /**
   * Items the store may hold whose states are not here (stored before the cache began, or dropped): read when
   * they come. An item neither here nor there is absent from the store: the cache began knowing every item
   * the store held of the partition.
   */
  elsewhere?: BloomFilter;
}

type Item = { table: string; itemKey: string };

/**
 * The states an items table holds for the items of the partitions this sink applies, as it wrote or read them,
 * so that a batch reads back only what it does not know. Exact because one member applies a partition at a
 * time and this cache follows the store: states are remembered only after their insert succeeded; a failed
 * insert (whose outcome is unknown) and a new assignment of the partition (another member may have applied it
 * meanwhile: the runtime asks for `progress` again) forget the partition. Used only while this group is the only
 * one that has written the table (the sink checks before each batch and clears it otherwise), so, as a
 * partition's cache begins, the store can list the items it holds of the partition (every row was written under
 * the group's partitioning): they are noted in a Bloom filter (no false negatives), and an item in neither is a
 * new one: nothing is read for it. Past `limit` states the oldest are
 * dropped and noted there too. An item the filter may hold is read (a false positive costs one read).
 */
export class AppliedStates {
  private readonly partitions = new Map<string, PartitionStates>();
  private size = 0;

  constructor(private readonly limit = DEFAULT_KEPT_STATES) {}

  /**
   * The applied states of these items (absent: never applied): from the cache, the rest through `read`.
   * `stored` lists the ids of the items the store holds of the partition, a chunk at a time (a partition
   * may hold more ids than one string or array should); asked when the partition's cache begins.
   */
  async of(
    topic: string,
    partition: number,
    items: Item[],
    read: (items: Item[]) => Promise<Map<string, ItemState>>,
    stored: () => AsyncIterable<string[]>,
  ): Promise<Map<string, ItemState>> {
    const key = partitionKey(topic, partition);
    let cached = this.partitions.get(key);
    if (!cached) {
      cached = { states: new Map() };
      for await (const ids of stored()) for (const id of ids) (cached.elsewhere ??= new BloomFilter()).add(id);
      this.partitions.set(key, cached);
    }
    const found = new Map<string, ItemState>();
    const unknown: Item[] = [];
    for (const item of items) {
      const id = itemId(item.table, item.itemKey);
      const state = cached.states.get(id);
      if (state) found.set(id, state);
      else if (cached.elsewhere?.has(id)) unknown.push(item);
    }
    if (unknown.length > 0) {
      const stored = await read(unknown);
      for (const [id, state] of stored) found.set(id, state);
      this.remember(topic, partition, stored.values());
    }
    return found;
  }

  /** Records states the store now holds for the partition (after their insert succeeded). */
  remember(topic: string, partition: number, states: Iterable<ItemState>): void {
    const cached = this.partitions.get(partitionKey(topic, partition));
    if (!cached) return;
    for (const state of states) {
      const id = itemId(state.table, state.itemKey);
      // Deleted and set again: a Map keeps insertion order, so the oldest come first.
      if (cached.states.delete(id)) this.size--;
      cached.states.set(id, state);
      this.size++;
    }
    if (this.size > this.limit) this.dropOldest(this.size - this.limit);
  }

  /** Forgets a partition: a new assignment, or an insert that failed. */
  forget(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    this.size -= this.partitions.get(key)?.states.size ?? 0;
    this.partitions.delete(key);
  }

  /** Forgets every partition: the table is no longer this group's alone. */
  clear(): void {
    this.partitions.clear();
    this.size = 0;
  }

  /**
   * Drops the oldest states, of the largest partitions first, noting their items among the dropped ones.
   * In one pass per partition: a Map's first entry found again after each delete costs a scan of the
   * deleted ones before it.
   */
  private dropOldest(count: number): void {
    const largestFirst = [...this.partitions.values()].sort((one, other) => other.states.size - one.states.size);
    let left = count;
    for (const cached of largestFirst) {
      const share = Math.min(left, cached.states.size);
      let dropped = 0;
      for (const id of cached.states.keys()) {
        if (dropped === share) break;
        cached.states.delete(id);
        (cached.elsewhere ??= new BloomFilter()).add(id);
        dropped++;
      }
      this.size -= dropped;
      left -= dropped;
      if (left === 0) return;
    }
  }
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
