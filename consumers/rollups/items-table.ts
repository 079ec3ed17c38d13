import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigurationError } from '../../core/errors.ts';

/** What a rollup's per-item table must look like: columns in order (name, ClickHouse type), engine, sorting key. */
export interface ItemsLayout {
  columns: [name: string, type: string][];
  engine: string;
  orderBy: string[];
}

/**
 * Creates a rollup's per-item table, or checks that the existing one is the table its definition needs.
 * A changed definition (another dimension, a measure's scale) cannot go on writing into the old table:
 * every later insert would fail, so it is refused at open with what differs and how to rebuild.
 */
export async function ensureItemsTable(clickhouse: ClickHouseClient, rollup: string, table: string, layout: ItemsLayout): Promise<void> {
  const columns = layout.columns.map(([name, type]) => `${name} ${type}`).join(', ');
  await clickhouse.command({ query: `CREATE TABLE IF NOT EXISTS ${table} (${columns}) ENGINE = ${layout.engine} ORDER BY (${layout.orderBy.join(', ')})` });
  const differences = layoutDifferences(await existingLayout(clickhouse, table), layout);
  if (differences.length === 0) return;
  throw new ConfigurationError(`rollup ${rollup}: its table ${table} was made for another definition: ${differences.join('; ')}. `
    + `To rebuild it, DROP TABLE ${table} and replay the topics into it: run the rollups with a new consumers.rollups.groupId `
    + '(a new group starts from the beginning; the other rollups absorb the replay), then check with shardline reconcile. '
    + 'Or restore the previous definition.');
}

async function existingLayout(clickhouse: ClickHouseClient, table: string): Promise<ItemsLayout> {
  const params = { query_params: { table }, format: 'JSONEachRow' } as const;
  const columns = await (await clickhouse.query({ query: 'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position', ...params })).json<{ name: string; type: string }>();
  const [about] = await (await clickhouse.query({ query: 'SELECT engine_full, sorting_key FROM system.tables WHERE database = currentDatabase() AND name = {table:String}', ...params })).json<{ engine_full: string; sorting_key: string }>();
  return {
    columns: columns.map(({ name, type }) => [name, type]),
    // engine_full goes on with the table's clauses (ORDER BY, SETTINGS): the engine is what precedes them.
    engine: about!.engine_full.split(/ (?:PARTITION BY|PRIMARY KEY|ORDER BY|SAMPLE BY|TTL|SETTINGS) /)[0]!,
    // The sorting key quotes names that are keywords (`table`).
    orderBy: about!.sorting_key.split(', ').filter(Boolean).map((name) => name.replace(/^`(.*)`$/, '$1')),
  };
}

function layoutDifferences(existing: ItemsLayout, needed: ItemsLayout): string[] {
  const differences: string[] = [];
  const existingTypes = new Map(existing.columns);
  const neededTypes = new Map(needed.columns);
  for (const [name, type] of needed.columns) {
    const found = existingTypes.get(name);
    if (found === undefined) differences.push(`column ${name} (${type}) is missing`);
    else if (found !== type) differences.push(`column ${name} is ${found}; the definition needs ${type}`);
  }
  for (const [name, type] of existing.columns) if (!neededTypes.has(name)) differences.push(`column ${name} (${type}) is not in the definition`);
  if (existing.engine !== needed.engine) differences.push(`engine is ${existing.engine}; the definition needs ${needed.engine}`);
  if (existing.orderBy.join(', ') !== needed.orderBy.join(', ')) differences.push(`ORDER BY is (${existing.orderBy.join(', ')}); the definition needs (${needed.orderBy.join(', ')})`);
  return differences;
}
