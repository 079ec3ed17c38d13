import type { ClickHouseClient } from '@clickhouse/client';
import type { EntityView, FieldValue } from '../../schemas/views.ts';
import { itemId, isNewer, type ItemState } from './contribution.ts';
import type { RollupDefinition } from './definition.ts';
import { itemsTable, measureColumn } from './items-table.ts';

/** Dimension and measure columns of a rollup's items table. */
export const valueColumns = (rollup: RollupDefinition): string[] => [
  ...rollup.dimensions.map((dimension) => dimension.name),
  ...rollup.measures.flatMap((measure) => (measure.kind === 'sum' ? [measureColumn(measure.name)] : [])),
];

/**
 * The states a rollup's items table holds, as the rows whose +1 and -1 do not cancel: per item and
 * version (and deleted flag), the net sign. Read from the rows, not through FINAL, so that parts not yet
 * merged count exactly as they do in the aggregate. In a consistent table each item has one such row;
 * `filter` narrows the items (a batch's keys, a partition below a sweep).
 */
function statesQuery(rollup: RollupDefinition, filter: string): string {
  const values = valueColumns(rollup).map((column) => `any(${column}) AS ${column}`).join(', ');
  // Filtered in a subquery: in the outer one, the names are also the aggregates' aliases.
  return `SELECT table, item_key, version, is_deleted, any(partition) AS partition, ${values} FROM (SELECT * FROM ${itemsTable(rollup)} WHERE ${filter}) `
    + 'GROUP BY table, item_key, version, is_deleted HAVING sum(sign) > 0';
}

// Versions (UInt256) arrive as text: the client quotes 64-bit and wider integers.
type StateRow = { table: string; item_key: string; version: string; is_deleted: number; partition: number } & Record<string, FieldValue>;

async function readStates(clickhouse: ClickHouseClient, rollup: RollupDefinition, filter: string, params: Record<string, unknown>): Promise<Map<string, ItemState>> {
  const result = await clickhouse.query({ query: statesQuery(rollup, filter), query_params: params, format: 'JSONEachRow' });
  const columns = valueColumns(rollup);
  const states = new Map<string, ItemState>();
  for (const row of await result.json<StateRow>()) {
    const state: ItemState = {
      table: row.table, itemKey: row.item_key, version: row.version, deleted: Number(row.is_deleted) === 1, partition: Number(row.partition),
      values: Object.fromEntries(columns.map((column) => [column, row[column]!])),
    };
    const id = itemId(state.table, state.itemKey);
    // Two live rows for one item only come from a member that wrote after losing its partition: the newest is the state.
    if (isNewer(state, states.get(id))) states.set(id, state);
  }
  return states;
}

/** The applied state of each of these items (by table and key); an item never applied is absent. */
export function statesOf(clickhouse: ClickHouseClient, rollup: RollupDefinition, items: { table: string; itemKey: string }[]): Promise<Map<string, ItemState>> {
  if (items.length === 0) return Promise.resolve(new Map());
  // A set from a subquery: `IN {keys:Array(String)}` compares every row with the array (minutes for 50,000 keys).
  return readStates(clickhouse, rollup, 'table IN (SELECT arrayJoin({tables:Array(String)})) AND item_key IN (SELECT arrayJoin({keys:Array(String)}))', {
    tables: [...new Set(items.map((item) => item.table))],
    keys: [...new Set(items.map((item) => item.itemKey))],
  });
}

/** Items of a table living in one partition, counted, with a version below `floor`: what a sweep deletes there. */
export function liveStatesBelow(clickhouse: ClickHouseClient, rollup: RollupDefinition, table: string, partition: number, floor: string): Promise<Map<string, ItemState>> {
  return readStates(clickhouse, rollup, 'table = {table:String} AND partition = {partition:UInt32} AND version < {floor:UInt256} AND is_deleted = 0', { table, partition, floor });
}

/**
 * The rollup summed over the state itself (each item's newest live row), ignoring the aggregate: what the
 * aggregate must equal. Reads every item; for `shardline reconcile` and `shardline rollups rebuild`.
 */
export function stateRowsQuery(rollup: RollupDefinition): string {
  const columns = valueColumns(rollup);
  return `SELECT table, item_key, state.1 AS version, state.2 AS is_deleted, state.3 AS partition, ${columns.map((column, index) => `state.${index + 4} AS ${column}`).join(', ')} FROM (`
    + `SELECT table, item_key, argMax(tuple(version, is_deleted, partition, ${columns.join(', ')}), tuple(version, is_deleted)) AS state FROM (${statesQuery(rollup, '1')}) GROUP BY table, item_key)`;
}

export function stateTotalsQuery(rollup: RollupDefinition, view: EntityView): string {
  const dimensions = rollup.dimensions.map((dimension) => dimension.name).join(', ');
  const measures = rollup.measures.map((measure) => (measure.kind === 'count'
    ? `count() AS ${measure.name}`
    : view[measure.field]!.type === 'decimal'
      ? `sum(toDecimal256(${measureColumn(measure.name)}, ${view[measure.field]!.scale ?? 2})) AS ${measure.name}`
      : `sum(toInt128(${measureColumn(measure.name)})) AS ${measure.name}`)).join(', ');
  return `SELECT ${dimensions}, ${measures} FROM (${stateRowsQuery(rollup)}) WHERE is_deleted = 0 GROUP BY ${dimensions} ORDER BY ${dimensions}`;
}
