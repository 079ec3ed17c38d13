import type { ClickHouseClient } from '@clickhouse/client';
import { itemId } from './contribution.ts';

const WRITERS_TABLE = 'rollup_items_writers';

/** An items table as made once: its name, and the instance its creation wrote into its comment ('' for tables made before instances). */
export interface ItemsTableInstance {
  table: string;
  instance: string;
}

/**
 * Records that a consumer group writes items tables (at open, before it writes any row). Whether a group is
 * the only one that ever wrote a table (`sharedTables`) decides whether the sink may keep states: only then
 * does the table change by this group's inserts alone, and does its partition column follow this group's
 * partitioning for every row (another group may have read other topics, of other partition counts), which
 * is what lets the sink take the items stored with a partition's number for all the items of that partition.
 * A group is recorded for the table's instance: a table dropped and made again holds none of the rows of the
 * groups recorded before, so their records are pruned here. A rebuilt table (`rollups rebuild`) keeps its
 * instance, and its groups with it: it holds their rows.
 */
export async function recordWriter(
  clickhouse: ClickHouseClient,
  tables: ItemsTableInstance[],
  group: string,
): Promise<void> {
  await clickhouse.command({
    query: `CREATE TABLE IF NOT EXISTS ${WRITERS_TABLE} (items_table String, group String, instance String) ENGINE = ReplacingMergeTree ORDER BY (items_table, group)`,
  });
  // Made before instances: its records are of the instance '' that tables of then have too.
  await clickhouse.command({ query: `ALTER TABLE ${WRITERS_TABLE} ADD COLUMN IF NOT EXISTS instance String` });
  for (const { table, instance } of tables) {
    await clickhouse.command({
      query: `DELETE FROM ${WRITERS_TABLE} WHERE items_table = {table:String} AND instance != {instance:String}`,
      query_params: { table, instance },
    });
  }
  await clickhouse.insert({
    table: WRITERS_TABLE,
    values: tables.map(({ table, instance }) => ({ items_table: table, group, instance })),
    format: 'JSONEachRow',
  });
}

/** Those of these items tables that another group than this one has written (or is about to: it recorded itself at its open). */
export async function sharedTables(
  clickhouse: ClickHouseClient,
  tables: ItemsTableInstance[],
  group: string,
): Promise<Set<string>> {
  const result = await clickhouse.query({
    query: `SELECT DISTINCT items_table, instance FROM ${WRITERS_TABLE} WHERE items_table IN {tables:Array(String)} AND group != {group:String}`,
    query_params: { tables: tables.map(({ table }) => table), group },
    format: 'JSONEachRow',
  });
  const current = new Map(tables.map(({ table, instance }) => [table, instance]));
  return new Set(
    (await result.json<{ items_table: string; instance: string }>()).flatMap((row) =>
      current.get(row.items_table) === row.instance ? [row.items_table] : [],
    ),
  );
}

/**
 * The ids (`itemId`) of the items an items table holds in a partition, a chunk of rows at a time: a partition
 * of millions of items would pass the longest string V8 holds if read as one text.
 */
export async function* storedItems(
  clickhouse: ClickHouseClient,
  table: string,
  partition: number,
): AsyncGenerator<string[]> {
  const result = await clickhouse.query({
    query: `SELECT DISTINCT table, item_key FROM ${table} WHERE partition = {partition:UInt32}`,
    query_params: { partition },
    format: 'JSONCompactEachRow',
  });
  for await (const rows of result.stream<[string, string]>()) {
    yield rows.map((row) => {
      const [itemTable, itemKey] = row.json();
      return itemId(itemTable, itemKey);
    });
  }
}
