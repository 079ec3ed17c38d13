import type { ClickHouseClient } from '@clickhouse/client';
import { itemId } from './contribution.ts';

const WRITERS_TABLE = 'rollup_items_writers';

/**
 * Records that a consumer group writes an items table, and says whether it is the only group that ever has.
 * Only then does the table's partition column follow this group's partitioning for every row (another group
 * may have read other topics, of other partition counts), which is what lets the sink take the items stored
 * with a partition's number for all the items of that partition. A table dropped and made again keeps the groups recorded before: it only
 * costs reads.
 */
export async function soleWriter(clickhouse: ClickHouseClient, table: string, group: string): Promise<boolean> {
  await clickhouse.command({ query: `CREATE TABLE IF NOT EXISTS ${WRITERS_TABLE} (items_table String, group String) ENGINE = ReplacingMergeTree ORDER BY (items_table, group)` });
  await clickhouse.insert({ table: WRITERS_TABLE, values: [{ items_table: table, group }], format: 'JSONEachRow' });
  const result = await clickhouse.query({
    query: `SELECT DISTINCT group FROM ${WRITERS_TABLE} WHERE items_table = {table:String}`, query_params: { table }, format: 'JSONEachRow',
  });
  const groups = await result.json<{ group: string }>();
  return groups.length === 1 && groups[0]!.group === group;
}

/** The ids (`itemId`) of the items an items table holds in a partition. */
export async function storedItems(clickhouse: ClickHouseClient, table: string, partition: number): Promise<string[]> {
  const result = await clickhouse.query({
    query: `SELECT DISTINCT table, item_key FROM ${table} WHERE partition = {partition:UInt32}`, query_params: { partition }, format: 'JSONCompactEachRow',
  });
  const text = await result.text();
  return text.split('\n').filter(Boolean).map((line) => {
    const [itemTable, itemKey] = JSON.parse(line) as [string, string];
    return itemId(itemTable, itemKey);
  });
}
