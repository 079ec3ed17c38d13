import type { ClickHouseClient } from '@clickhouse/client';

const WRITERS_TABLE = 'rollup_items_writers';

/**
 * Records that a consumer group writes an items table, and says whether it is the only group that ever has.
 * Only then does the table's partition column follow this group's partitioning for every row (another group
 * may have read other topics, of other partition counts), which is what lets the sink take a partition with
 * no rows for one with no items. A table dropped and made again keeps the groups recorded before: it only
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

/** Whether an items table holds no row of a partition. */
export async function partitionEmpty(clickhouse: ClickHouseClient, table: string, partition: number): Promise<boolean> {
  const result = await clickhouse.query({ query: `SELECT 1 FROM ${table} WHERE partition = {partition:UInt32} LIMIT 1`, query_params: { partition }, format: 'JSONEachRow' });
  return (await result.json()).length === 0;
}
