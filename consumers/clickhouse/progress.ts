import type { ClickHouseClient } from '@clickhouse/client';

/**
 * Consumer progress kept in ClickHouse beside the data it describes: the next offset per group and
 * partition. Written after the batch's rows, so a crash in between replays the batch, which the
 * ClickHouse sinks absorb (newest version per item wins; audit entries are keyed by event id).
 */
export class ClickHouseProgress {
  constructor(private readonly clickhouse: ClickHouseClient, private readonly table = 'shardline_progress') {}

  async open(): Promise<void> {
    await this.clickhouse.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.table} (
        group String, topic String, partition UInt32, next_offset UInt64, updated DateTime64(6) DEFAULT now64(6)
      ) ENGINE = ReplacingMergeTree(updated) ORDER BY (group, topic, partition)`,
    });
  }

  async read(group: string, topic: string, partition: number): Promise<string | undefined> {
    const result = await this.clickhouse.query({
      query: `SELECT toString(next_offset) AS next FROM ${this.table} FINAL WHERE group = {group:String} AND topic = {topic:String} AND partition = {partition:UInt32}`,
      query_params: { group, topic, partition },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ next: string }>();
    return rows[0]?.next;
  }

  async write(group: string, topic: string, partition: number, nextOffset: string): Promise<void> {
    await this.clickhouse.insert({
      table: this.table,
      format: 'JSONEachRow',
      values: [{ group, topic, partition, next_offset: nextOffset }],
    });
  }
}
