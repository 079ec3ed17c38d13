import type { ClickHouseClient } from '@clickhouse/client';
import { itemId } from './contribution.ts';

const WRITERS_TABLE = 'rollup_items_writers';

/**
 * Records that a consumer group writes items tables (at open, before it writes any row). Whether a group is
 * the only one that ever wrote a table (`sharedTables`) decides whether the sink may keep states: only then
 * does the table change by this group's inserts alone, and does its partition column follow this group's
 * partitioning for every row (another group may have read other topics, of other partition counts), which
 * is what lets the sink take the items stored with a partition's number for all the items of that partition.
 * A table dropped and made again keeps the groups recorded before: it only costs reads.
 */
export async function recordWriter(clickhouse: ClickHouseClient, tables: string[], group: string): Promise<void> {
  await clickhouse.command({ query: `CREATE TABLE IF NOT EXISTS ${WRITERS_TABLE} (items_table String, group String) ENGINE = ReplacingMergeTree ORDER BY (items_table, group)` });
  await clickhouse.insert({ table: WRITERS_TABLE, values: tables.map((table) => ({ items_table: table, group })), format: 'JSONEachRow' });
}

/** Those of these items tables that another group than this one has written (or is about to: it recorded itself at its open). */
export async function sharedTables(clickhouse: ClickHouseClient, tables: string[], group: string): Promise<Set<string>> {
  const result = await clickhouse.query({
    query: `SELECT DISTINCT items_table FROM ${WRITERS_TABLE} WHERE items_table IN {tables:Array(String)} AND group != {group:String}`,
    query_params: { tables, group }, format: 'JSONEachRow',
  });
  return new Set((await result.json<{ items_table: string }>()).map((row) => row.items_table));
}

/**
 * The ids (`itemId`) of the items an items table holds in a partition, a chunk of rows at a time: a partition
 * of millions of items would pass the longest string V8 holds if read as one text.
 */
export async function* storedItems(clickhouse: ClickHouseClient, table: string, partition: number): AsyncGenerator<string[]> {
  const result = await clickhouse.query({
    query: `SELECT DISTINCT table, item_key FROM ${table} WHERE partition = {partition:UInt32}`, query_params: { partition }, format: 'JSONCompactEachRow',
  });
  for await (const rows of result.stream<[string, string]>()) {
    yield rows.map((row) => {
      const [itemTable, itemKey] = row.json();
      return itemId(itemTable, itemKey);
    });
  }
}
