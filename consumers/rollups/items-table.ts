import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigurationError } from '../../core/errors.ts';
import type { EntityView, FieldValue } from '../../schemas/views.ts';
import { columnType, signedCount, signedSumOf, type RollupDefinition } from './definition.ts';

/** What an entity's items table must look like: columns in order (name, ClickHouse type), engine, sorting key, projections. */
export interface ItemsLayout {
  columns: [name: string, type: string][];
  engine: string;
  orderBy: string[];
  /** Aggregate projections by name: their queries (only the names are compared with an existing table). */
  projections: Map<string, string>;
}

type Dimension = RollupDefinition['dimensions'][number];
type Measure = RollupDefinition['measures'][number];

/** One table per entity holds the state of its items for all of the entity's rollups. */
export const entityTable = (entity: string): string => `rollups_${entity}_items`;
export const itemsTable = (rollup: RollupDefinition): string => entityTable(rollup.entity);
/** The table of a rollup in the layouts before one table per entity (a view over per-item rows, then one aggregated table per rollup). */
const legacyTable = (rollup: RollupDefinition): string => `rollup_${rollup.name}_items`;
// Columns are named by rollup: each rollup's values of an item are its own (a rollup can refuse a value another holds).
export const dimensionColumn = (rollup: RollupDefinition, dimension: Dimension): string =>
  `${rollup.name}__d_${dimension.name}`;
export const measureColumn = (rollup: RollupDefinition, measure: Measure): string =>
  `${rollup.name}__m_${measure.name}`;
/** 1 when the item's state counts in the rollup: not deleted, and its values fitted the rollup's columns. */
export const countedColumn = (rollup: RollupDefinition): string => `${rollup.name}__counted`;
const projectionName = (rollup: RollupDefinition): string => `p_${rollup.name}`;
const ENGINE = 'CollapsingMergeTree(sign)';
/** The layout before aggregates: the rollup was a view recomputing sums over the newest row of each item. */
const OLD_ENGINE = 'ReplacingMergeTree(version, is_deleted)';

/** A rollup's value columns: dimensions, counted flag, sums. */
export function rollupColumns(rollup: RollupDefinition, view: EntityView): [name: string, type: string][] {
  return [
    ...rollup.dimensions.map((dimension): [string, string] => [
      dimensionColumn(rollup, dimension),
      columnType(view[dimension.field]!, dimension.transform),
    ]),
    [countedColumn(rollup), 'UInt8'],
    ...rollup.measures.flatMap((measure): [string, string][] =>
      measure.kind === 'sum' ? [[measureColumn(rollup, measure), columnType(view[measure.field]!)]] : [],
    ),
  ];
}

/** The rollup's dimensions as the view names them (`day AS day` from its column). */
const dimensionKeys = (rollup: RollupDefinition): string =>
  rollup.dimensions.map((dimension) => dimensionColumn(rollup, dimension)).join(', ');

/** The rollup's measures as aggregates of the signed rows, named as the user declared them. */
export function measureAggregates(rollup: RollupDefinition, view: EntityView): string {
  return rollup.measures
    .map((measure) =>
      measure.kind === 'count'
        ? `toUInt64(${signedCount(countedColumn(rollup))}) AS ${measure.name}`
        : `${signedSumOf(measureColumn(rollup, measure), view[measure.field]!)} AS ${measure.name}`,
    )
    .join(', ');
}

/** A rollup's columns for an item it does not count (deleted, or refused): zeros, whatever group they name. */
export function uncountedValues(rollup: RollupDefinition, view: EntityView): Record<string, FieldValue> {
  return Object.fromEntries(rollupColumns(rollup, view).map(([name, type]) => [name, zeroOf(type)]));
}

/**
 * The items table of an entity is a log of contributions: per applied change of an item, a -1 row repeating
 * the state it had and a +1 row with its new state. Rows of one item and version collapse in merges (sorting
 * key), so the table converges to one +1 row per item: its state. Each rollup of the entity has an aggregate
 * projection summing the signed rows per group of its dimensions; ClickHouse writes the projections inside
 * each data part with the rows, so a part (one insert) carries state and aggregates together, and a merge
 * rebuilds them from the merged rows (deduplicate_merge_projection_mode). One table per entity means one
 * read of states and one insert per batch, however many rollups the entity has.
 */
export function itemsLayout(rollups: RollupDefinition[], view: EntityView): ItemsLayout {
  return {
    columns: [
      ['table', 'String'],
      ['item_key', 'String'],
      ['version', 'UInt256'],
      ['is_deleted', 'UInt8'],
      ['partition', 'UInt32'],
      ['sign', 'Int8'],
      ...rollups.flatMap((rollup) => rollupColumns(rollup, view)),
    ],
    engine: ENGINE,
    // An item is its table's: two tables of one entity may hold equal keys. A sweep deletes an item at the
    // version it holds, so the deleted row is a key of its own.
    orderBy: ['table', 'item_key', 'version', 'is_deleted'],
    projections: new Map(
      rollups.map((rollup) => {
        const sums = rollup.measures.flatMap((measure) =>
          measure.kind === 'sum' ? [signedSumOf(measureColumn(rollup, measure), view[measure.field]!)] : [],
        );
        return [
          projectionName(rollup),
          `SELECT ${dimensionKeys(rollup)}, ${[signedCount(countedColumn(rollup)), ...sums].join(', ')} GROUP BY ${dimensionKeys(rollup)}`,
        ];
      }),
    ),
  };
}

/**
 * Creates an entity's items table and its rollups' views, or checks that the existing table is the one the
 * definitions need. A changed definition (another dimension, a measure's scale, a rollup added or removed)
 * cannot go on writing into the old table: every later insert would fail, or a new rollup would start from
 * the middle of the stream; it is refused at open with what differs and how to rebuild. Tables of the layouts
 * before (one per rollup) are refused too, with how to move. Returns the table's instance: an id its creation
 * wrote in its comment, which a table dropped and made again does not share ('' for a table made before ids).
 */
export async function ensureItemsTable(
  clickhouse: ClickHouseClient,
  entity: string,
  rollups: RollupDefinition[],
  view: EntityView,
): Promise<string> {
  const table = entityTable(entity);
  const names = rollups.map((rollup) => rollup.name).join(', ');
  const rebuild =
    `To rebuild it, DROP TABLE ${table} and replay the topics into it: run the rollups with a new consumers.rollups.groupId ` +
    '(a new group starts from the beginning), then check with shardline reconcile.';
  for (const rollup of rollups) {
    const legacy = legacyTable(rollup);
    const found = await existingLayout(clickhouse, legacy);
    if (!found) continue;
    const what =
      found.engine === OLD_ENGINE
        ? 'where the rollup was a view recomputing sums over every item'
        : 'where each rollup had its own aggregated table';
    throw new ConfigurationError(
      `rollup ${rollup.name}: its table ${legacy} has the layout of an older Shardline, ${what}; rollups of an entity ` +
        `now share one table (${table}). It is not migrated. To move: DROP VIEW ${rollup.name}; DROP TABLE ${legacy}; then run the rollups with a ` +
        'new consumers.rollups.groupId (a new group replays the topics from the beginning) and check with shardline reconcile.',
    );
  }
  const layout = itemsLayout(rollups, view);
  const projections = [...layout.projections].map(([name, query]) => `PROJECTION ${name} (${query})`).join(', ');
  await clickhouse.command({
    query:
      `CREATE TABLE IF NOT EXISTS ${table} (${layout.columns.map(([name, type]) => `${name} ${type}`).join(', ')}, ${projections}) ` +
      `ENGINE = ${layout.engine} ORDER BY (${layout.orderBy.join(', ')}) SETTINGS deduplicate_merge_projection_mode = 'rebuild' COMMENT '${randomUUID()}'`,
  });
  const existing = (await existingLayout(clickhouse, table))!;
  const differences = layoutDifferences(existing, layout);
  if (differences.length > 0) {
    throw new ConfigurationError(
      `rollups ${names} of ${entity}: their table ${table} was made for other definitions: ${differences.join('; ')}. ${rebuild} ` +
        'Or restore the previous definitions.',
    );
  }
  for (const rollup of rollups) {
    // The same aggregate as the rollup's projection, so ClickHouse answers it from the projection: one row per
    // group and part, however many items. A group whose items were all deleted is no group.
    await clickhouse.command({
      query:
        `CREATE OR REPLACE VIEW ${rollup.name} AS SELECT ${rollup.dimensions.map((dimension) => `${dimensionColumn(rollup, dimension)} AS ${dimension.name}`).join(', ')}, ` +
        `${measureAggregates(rollup, view)} FROM ${table} GROUP BY ${dimensionKeys(rollup)} HAVING ${signedCount(countedColumn(rollup))} > 0 ` +
        `ORDER BY ${rollup.dimensions.map((dimension) => dimension.name).join(', ')}`,
    });
  }
  return existing.instance;
}

/** The layout of an existing table and its instance (its comment); undefined when there is no such table. */
async function existingLayout(
  clickhouse: ClickHouseClient,
  table: string,
): Promise<(ItemsLayout & { instance: string }) | undefined> {
  const params = { query_params: { table }, format: 'JSONEachRow' } as const;
  const [about] = await (
    await clickhouse.query({
      query:
        'SELECT engine_full, sorting_key, create_table_query, comment FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
      ...params,
    })
  ).json<{ engine_full: string; sorting_key: string; create_table_query: string; comment: string }>();
  if (!about) return undefined;
  const columns = await (
    await clickhouse.query({
      query:
        'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position',
      ...params,
    })
  ).json<{ name: string; type: string }>();
  return {
    columns: columns.map(({ name, type }) => [name, type]),
    // engine_full goes on with the table's clauses (ORDER BY, SETTINGS): the engine is what precedes them.
    engine: about.engine_full.split(/ (?:PARTITION BY|PRIMARY KEY|ORDER BY|SAMPLE BY|TTL|SETTINGS) /)[0]!,
    // The sorting key quotes names that are keywords (`table`).
    orderBy: about.sorting_key
      .split(', ')
      .filter(Boolean)
      .map((name) => name.replace(/^`(.*)`$/, '$1')),
    projections: new Map(
      [...about.create_table_query.matchAll(/PROJECTION (\S+) \(/g)].map((match) => [
        match[1]!.replace(/^`(.*)`$/, '$1'),
        '',
      ]),
    ),
    instance: about.comment,
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
  for (const [name, type] of existing.columns)
    if (!neededTypes.has(name)) differences.push(`column ${name} (${type}) is not in the definition`);
  if (existing.engine !== needed.engine)
    differences.push(`engine is ${existing.engine}; the definition needs ${needed.engine}`);
  if (existing.orderBy.join(', ') !== needed.orderBy.join(', '))
    differences.push(
      `ORDER BY is (${existing.orderBy.join(', ')}); the definition needs (${needed.orderBy.join(', ')})`,
    );
  for (const name of needed.projections.keys())
    if (!existing.projections.has(name)) differences.push(`projection ${name} is missing`);
  for (const name of existing.projections.keys())
    if (!needed.projections.has(name)) differences.push(`projection ${name} is not in the definition`);
  return differences;
}

function zeroOf(type: string): FieldValue {
  if (type === 'Date') return '1970-01-01';
  if (type.startsWith('DateTime')) return '1970-01-01 00:00:00';
  if (type === 'Bool') return false;
  if (type === 'String') return '';
  // Numbers (the counted flag too), as text: the client quotes 64-bit and wider ones.
  return '0';
}
