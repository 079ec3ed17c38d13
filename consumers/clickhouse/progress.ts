import type { ClickHouseClient } from '@clickhouse/client';

/** How often positions are stored: an insert costs about as much as a batch's rows (measured on chDB). */
const STORE_INTERVAL_MS = 1_000;

interface Position {
  topic: string;
  partition: number;
  next_offset: string;
}

/**
 * One consumer group's progress kept in ClickHouse beside the data it describes: the next offset per
 * partition. Positions are recorded after the batch's rows and stored at most once a second, so a
 * crash replays up to a second of batches, which the ClickHouse sinks absorb (newest version per item
 * wins; audit entries are keyed by event id). A stored position only ever follows rows already
 * inserted, so the highest one is always safe to resume from.
 */
export class ClickHouseProgress {
  private readonly pending = new Map<string, Position>();
  private lastStored = 0;

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly group: string,
    private readonly table = 'shardline_progress',
    private readonly storeIntervalMs = STORE_INTERVAL_MS,
  ) {}

  async open(): Promise<void> {
    await this.clickhouse.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.table} (
        group String, topic String, partition UInt32, next_offset UInt64, updated DateTime64(6) DEFAULT now64(6)
      ) ENGINE = ReplacingMergeTree(updated) ORDER BY (group, topic, partition)`,
    });
  }

  async read(topic: string, partition: number): Promise<string | undefined> {
    const recorded = this.pending.get(positionKey(topic, partition));
    if (recorded) return recorded.next_offset;
    // The highest, not the newest: a member that lost the partition may store an older position late.
    const result = await this.clickhouse.query({
      query: `SELECT toString(next_offset) AS next FROM ${this.table} WHERE group = {group:String} AND topic = {topic:String} AND partition = {partition:UInt32} ORDER BY next_offset DESC LIMIT 1`,
      query_params: { group: this.group, topic, partition },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ next: string }>();
    return rows[0]?.next;
  }

  /** Records where a partition goes on, once its batch's rows are inserted; stores it when the interval is up. */
  async write(topic: string, partition: number, nextOffset: string): Promise<void> {
    this.pending.set(positionKey(topic, partition), { topic, partition, next_offset: nextOffset });
    if (Date.now() - this.lastStored >= this.storeIntervalMs) await this.flush();
  }

  /** Stores every recorded position in one insert (also on close, so a clean stop replays nothing). */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const positions = [...this.pending.values()];
    await this.clickhouse.insert({ table: this.table, format: 'JSONEachRow', values: positions.map((position) => ({ group: this.group, ...position })) });
    for (const position of positions) {
      const key = positionKey(position.topic, position.partition);
      if (this.pending.get(key) === position) this.pending.delete(key);
    }
    this.lastStored = Date.now();
  }
}

const positionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
