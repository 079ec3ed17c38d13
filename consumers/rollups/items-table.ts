import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigurationError } from '../../core/errors.ts';
import type { EntityView, FieldValue } from '../../schemas/views.ts';
import { columnType, SIGNED_COUNT, signedSumOf, type RollupDefinition } from './definition.ts';

/** What a rollup's items table must look like: columns in order (name, ClickHouse type), engine, sorting key, projection. */
export interface ItemsLayout {
  columns: [name: string, type: string][];
  engine: string;
  orderBy: string[];
  /** The aggregate projection's query (without its name). */
  projection: string;
}

export const itemsTable = (rollup: RollupDefinition): string => `rollup_${rollup.name}_items`;
export const measureColumn = (name: string): string => `m_${name}`;
const PROJECTION = 'totals';
const ENGINE = 'CollapsingMergeTree(sign)';
/** The layout before aggregates: the rollup was a view recomputing sums over the newest row of each item. */
const OLD_ENGINE = 'ReplacingMergeTree(version, is_deleted)';

/** The rollup's dimension columns (`day, category`). */
export const dimensionList = (rollup: RollupDefinition): string => rollup.dimensions.map((dimension) => dimension.name).join(', ');

/** The rollup's measures as aggregates of the signed rows, named as the user declared them. */
export function measureAggregates(rollup: RollupDefinition, view: EntityView): string {
  return rollup.measures.map((measure) => (measure.kind === 'count'
    ? `toUInt64(${SIGNED_COUNT}) AS ${measure.name}`
    : `${signedSumOf(measureColumn(measure.name), view[measure.field]!)} AS ${measure.name}`)).join(', ');
}

/** Dimension and measure columns of a deleted item: it contributes nothing, whatever group it sits in. */
export function zeroValues(rollup: RollupDefinition, view: EntityView): Record<string, FieldValue> {
  const zeros: Record<string, FieldValue> = {};
  for (const dimension of rollup.dimensions) zeros[dimension.name] = zeroOf(columnType(view[dimension.field]!, dimension.transform));
  for (const measure of rollup.measures) if (measure.kind === 'sum') zeros[measureColumn(measure.name)] = '0';
  return zeros;
}

/**
 * The items table is a log of contributions: per applied change of an item, a -1 row repeating the state
 * it had and a +1 row with its new state. Rows of one item and version collapse in merges (sorting key),
 * so the table converges to one +1 row per item: its state. The projection sums the signed rows per group;
 * ClickHouse writes it inside each data part with the rows, so a part (one insert) carries state and
 * aggregate together, and a merge rebuilds it from the merged rows (deduplicate_merge_projection_mode).
 */
export function itemsLayout(rollup: RollupDefinition, view: EntityView): ItemsLayout {
  const sums = rollup.measures.flatMap((measure) => (measure.kind === 'sum' ? [signedSumOf(measureColumn(measure.name), view[measure.field]!)] : []));
  return {
    columns: [
      ['table', 'String'],
      ['item_key', 'String'],
      ['version', 'UInt256'],
      ['is_deleted', 'UInt8'],
      ['partition', 'UInt32'],
      ['sign', 'Int8'],
      ...rollup.dimensions.map((dimension): [string, string] => [dimension.name, columnType(view[dimension.field]!, dimension.transform)]),
      ...rollup.measures.flatMap((measure): [string, string][] => (measure.kind === 'sum' ? [[measureColumn(measure.name), columnType(view[measure.field]!)]] : [])),
    ],
    engine: ENGINE,
    // An item is its table's: two tables of one entity may hold equal keys. A sweep deletes an item at the
    // version it holds, so the deleted row is a key of its own.
    orderBy: ['table', 'item_key', 'version', 'is_deleted'],
    projection: `SELECT ${dimensionList(rollup)}, ${[SIGNED_COUNT, ...sums].join(', ')} GROUP BY ${dimensionList(rollup)}`,
  };
}

/**
 * Creates a rollup's items table and its view, or checks that the existing table is the one its
 * definition needs. A changed definition (another dimension, a measure's scale) cannot go on writing into
 * the old table: every later insert would fail, so it is refused at open with what differs and how to rebuild.
 * A table of the layout before aggregates is refused too, with how to move.
 */
export async function ensureItemsTable(clickhouse: ClickHouseClient, rollup: RollupDefinition, view: EntityView): Promise<void> {
  const table = itemsTable(rollup);
  const layout = itemsLayout(rollup, view);
  const columns = layout.columns.map(([name, type]) => `${name} ${type}`).join(', ');
  await clickhouse.command({
    query: `CREATE TABLE IF NOT EXISTS ${table} (${columns}, PROJECTION ${PROJECTION} (${layout.projection})) ENGINE = ${layout.engine} `
      + `ORDER BY (${layout.orderBy.join(', ')}) SETTINGS deduplicate_merge_projection_mode = 'rebuild'`,
  });
  const existing = await existingLayout(clickhouse, table);
  if (existing.engine === OLD_ENGINE) {
    throw new ConfigurationError(`rollup ${rollup.name}: its table ${table} has the layout of an older Shardline, where the rollup was a view `
      + `recomputing sums over every item; rollups are now aggregated as changes are applied. It is not migrated (its rows do not say which Kafka `
      + `partition each item lives in). To move: DROP VIEW ${rollup.name}; DROP TABLE ${table}; then run the rollups with a new consumers.rollups.groupId `
      + '(a new group replays the topics from the beginning; the other rollups absorb the replay) and check with shardline reconcile.');
  }
  const differences = layoutDifferences(existing, layout);
  if (differences.length > 0) {
    throw new ConfigurationError(`rollup ${rollup.name}: its table ${table} was made for another definition: ${differences.join('; ')}. `
      + `To rebuild it, DROP TABLE ${table} and replay the topics into it: run the rollups with a new consumers.rollups.groupId `
      + '(a new group starts from the beginning; the other rollups absorb the replay), then check with shardline reconcile. '
      + 'Or restore the previous definition.');
  }
  // The same aggregate as the projection's, so ClickHouse answers it from the projection: one row per
  // group and part, however many items. A group whose items were all deleted is no group.
  await clickhouse.command({
    query: `CREATE OR REPLACE VIEW ${rollup.name} AS SELECT ${dimensionList(rollup)}, ${measureAggregates(rollup, view)} FROM ${table} `
      + `GROUP BY ${dimensionList(rollup)} HAVING ${SIGNED_COUNT} > 0 ORDER BY ${dimensionList(rollup)}`,
  });
}

async function existingLayout(clickhouse: ClickHouseClient, table: string): Promise<ItemsLayout> {
  const params = { query_params: { table }, format: 'JSONEachRow' } as const;
  const columns = await (await clickhouse.query({ query: 'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position', ...params })).json<{ name: string; type: string }>();
  const [about] = await (await clickhouse.query({ query: 'SELECT engine_full, sorting_key, create_table_query FROM system.tables WHERE database = currentDatabase() AND name = {table:String}', ...params })).json<{ engine_full: string; sorting_key: string; create_table_query: string }>();
  return {
    columns: columns.map(({ name, type }) => [name, type]),
    // engine_full goes on with the table's clauses (ORDER BY, SETTINGS): the engine is what precedes them.
    engine: about!.engine_full.split(/ (?:PARTITION BY|PRIMARY KEY|ORDER BY|SAMPLE BY|TTL|SETTINGS) /)[0]!,
    // The sorting key quotes names that are keywords (`table`).
    orderBy: about!.sorting_key.split(', ').filter(Boolean).map((name) => name.replace(/^`(.*)`$/, '$1')),
    projection: about!.create_table_query.includes(`PROJECTION ${PROJECTION}`) ? 'present' : '',
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
  if (!existing.projection) differences.push(`projection ${PROJECTION} is missing`);
  return differences;
}

function zeroOf(type: string): FieldValue {
  if (type === 'Date') return '1970-01-01';
  if (type.startsWith('DateTime')) return '1970-01-01 00:00:00';
  if (type === 'Bool') return false;
  if (type === 'String') return '';
  return '0';
}
