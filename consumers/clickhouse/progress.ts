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

  /** Creates the table, or migrates an old one; the sinks of one process that share it open it once at a time. */
  async open(): Promise<void> {
    const byTable = opening.get(this.clickhouse) ?? new Map<string, Promise<void>>();
    opening.set(this.clickhouse, byTable);
    let pending = byTable.get(this.table);
    if (!pending) {
      pending = this.createOrMigrate().finally(() => byTable.delete(this.table));
      byTable.set(this.table, pending);
    }
    await pending;
  }

  private async createOrMigrate(): Promise<void> {
    await this.clickhouse.command({ query: `CREATE TABLE IF NOT EXISTS ${this.table} ${positionsTable}` });
    await this.migrateFromNewestWins();
    await this.clickhouse.command({ query: `DROP TABLE IF EXISTS ${this.table}_newest_wins` });
  }

  /**
   * Tables made before the highest position was the merge version (ReplacingMergeTree(updated)) keep the
   * last-inserted row on a merge, which may be a late member's lower position. Their rows are copied into
   * a table of the current layout, which then takes the name in one RENAME. Idempotent: a crash before the
   * rename copies again (copies collapse to the highest), one after it leaves only the old table to drop.
   * A second process migrating at the same time fails its RENAME (the names are taken) and finds the new
   * layout; what it can lose is a position stored during the copy, which only replays batches the sinks absorb.
   */
  private async migrateFromNewestWins(): Promise<void> {
    if (!(await this.engine()).startsWith('ReplacingMergeTree(updated)')) return;
    const copy = `${this.table}_highest_wins`;
    await this.clickhouse.command({ query: `DROP TABLE IF EXISTS ${copy}` });
    await this.clickhouse.command({ query: `CREATE TABLE ${copy} ${positionsTable}` });
    await this.clickhouse.command({
      query: `INSERT INTO ${copy} SELECT group, topic, partition, next_offset, updated FROM ${this.table}`,
    });
    try {
      await this.clickhouse.command({
        query: `RENAME TABLE ${this.table} TO ${this.table}_newest_wins, ${copy} TO ${this.table}`,
      });
    } catch (error) {
      if ((await this.engine()).startsWith('ReplacingMergeTree(updated)')) throw error;
    }
  }

  private async engine(): Promise<string> {
    const result = await this.clickhouse.query({
      query: 'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
      query_params: { table: this.table },
      format: 'JSONEachRow',
    });
    return (await result.json<{ engine_full: string }>())[0]?.engine_full ?? '';
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
    await this.clickhouse.insert({
      table: this.table,
      format: 'JSONEachRow',
      values: positions.map((position) => ({ group: this.group, ...position })),
    });
    for (const position of positions) {
      const key = positionKey(position.topic, position.partition);
      if (this.pending.get(key) === position) this.pending.delete(key);
    }
    this.lastStored = Date.now();
  }
}

// The merge keeps each partition's highest position, whatever order members stored theirs in.
const positionsTable = `(
  group String, topic String, partition UInt32, next_offset UInt64, updated DateTime64(6) DEFAULT now64(6)
) ENGINE = ReplacingMergeTree(next_offset) ORDER BY (group, topic, partition)`;

const opening = new WeakMap<ClickHouseClient, Map<string, Promise<void>>>();

const positionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
