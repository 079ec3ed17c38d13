import type { ClickHouseClient } from '@clickhouse/client';
import type { EntityView, FieldValue } from '../../schemas/views.ts';
import { itemId, isNewer, type ItemState } from './contribution.ts';
import type { RollupDefinition } from './definition.ts';
import { countedColumn, dimensionColumn, itemsTable, measureColumn } from './items-table.ts';

/**
 * The states an items table holds, as the rows whose +1 and -1 do not cancel: per item and version (and
 * deleted flag), the net sign. Read from the rows, not through FINAL, so that parts not yet merged count
 * exactly as they do in the aggregates. In a consistent table each item has one such row; `filter` narrows
 * the items (a batch's keys, a partition below a sweep); `columns` are the value columns read.
 */
function statesQuery(table: string, columns: string[], filter: string): string {
  const values = columns.map((column) => `any(${column}) AS ${column}`).join(', ');
  // Filtered in a subquery: in the outer one, the names are also the aggregates' aliases.
  return (
    `SELECT table, item_key, version, is_deleted, any(partition) AS partition, ${values} FROM (SELECT * FROM ${table} WHERE ${filter}) ` +
    'GROUP BY table, item_key, version, is_deleted HAVING sum(sign) > 0'
  );
}

// Versions (UInt256) arrive as text: the client quotes 64-bit and wider integers.
type StateRow = { table: string; item_key: string; version: string; is_deleted: number; partition: number } & Record<
  string,
  FieldValue
>;

async function readStates(
  clickhouse: ClickHouseClient,
  table: string,
  columns: string[],
  filter: string,
  params: Record<string, unknown>,
): Promise<Map<string, ItemState>> {
  const result = await clickhouse.query({
    query: statesQuery(table, columns, filter),
    query_params: params,
    format: 'JSONEachRow',
  });
  const states = new Map<string, ItemState>();
  for (const row of await result.json<StateRow>()) {
    const state: ItemState = {
      table: row.table,
      itemKey: row.item_key,
      version: row.version,
      deleted: Number(row.is_deleted) === 1,
      partition: Number(row.partition),
      values: Object.fromEntries(columns.map((column) => [column, row[column]!])),
    };
    const id = itemId(state.table, state.itemKey);
    // Two live rows for one item only come from a member that wrote after losing its partition: the newest is the state.
    if (isNewer(state, states.get(id))) states.set(id, state);
  }
  return states;
}

/**
 * URL characters the keys of one read of states take at most. A ClickHouse server takes query parameters in the
 * URL and refuses one whose value, still encoded, is longer than `http_max_field_value_size` (128 KiB by default).
 */
export const STATE_READ_URL_CHARS = 100_000;

/**
 * At most what a key takes of the keys' parameter in a URL: the client quotes it in the array (`'`, and `\` before
 * a quote or backslash in it, and a comma), and each byte of that is at most three characters URL-encoded.
 */
export const urlCharsOf = (key: string): number =>
  3 * (Buffer.byteLength(key) + (key.match(/['\\]/g)?.length ?? 0) + 3);

/** The applied state of each of these items (by table and key) in an items table; an item never applied is absent. */
export async function statesOf(
  clickhouse: ClickHouseClient,
  table: string,
  columns: string[],
  items: { table: string; itemKey: string }[],
  urlCharsPerRead = STATE_READ_URL_CHARS,
): Promise<Map<string, ItemState>> {
  const tables = [...new Set(items.map((item) => item.table))];
  const states = new Map<string, ItemState>();
  for (const keys of chunksOf([...new Set(items.map((item) => item.itemKey))], urlCharsPerRead)) {
    // A set from a subquery: `IN {keys:Array(String)}` compares every row with the array (minutes for 50,000 keys).
    const read = await readStates(
      clickhouse,
      table,
      columns,
      'table IN (SELECT arrayJoin({tables:Array(String)})) AND item_key IN (SELECT arrayJoin({keys:Array(String)}))',
      { tables, keys },
    );
    // One key's rows are all in its chunk: the chunks' states do not overlap.
    for (const [id, state] of read) states.set(id, state);
  }
  return states;
}

/** The keys in runs of at most `maxChars` URL characters (a longer key goes alone). */
function chunksOf(keys: string[], maxChars: number): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let chars = 0;
  for (const key of keys) {
    const keyChars = urlCharsOf(key);
    if (chunk.length > 0 && chars + keyChars > maxChars) {
      chunks.push(chunk);
      chunk = [];
      chars = 0;
    }
    chunk.push(key);
    chars += keyChars;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Items of a table living in one partition, not deleted, with a version below `floor`: what a sweep deletes there. */
export function liveStatesBelow(
  clickhouse: ClickHouseClient,
  itemsTableName: string,
  columns: string[],
  table: string,
  partition: number,
  floor: string,
): Promise<Map<string, ItemState>> {
  return readStates(
    clickhouse,
    itemsTableName,
    columns,
    'table = {table:String} AND partition = {partition:UInt32} AND version < {floor:UInt256} AND is_deleted = 0',
    { table, partition, floor },
  );
}

/**
 * Each item's newest state in an items table (one row per item, deleted ones included), with the given value
 * columns, ignoring the aggregates: what they must equal. Reads every item; for `shardline reconcile` and
 * `shardline rollups rebuild`.
 */
export function stateRowsQuery(table: string, columns: string[]): string {
  return (
    `SELECT table, item_key, state.1 AS version, state.2 AS is_deleted, state.3 AS partition, ${columns.map((column, index) => `state.${index + 4} AS ${column}`).join(', ')} FROM (` +
    `SELECT table, item_key, argMax(tuple(version, is_deleted, partition, ${columns.join(', ')}), tuple(version, is_deleted)) AS state FROM (${statesQuery(table, columns, '1')}) GROUP BY table, item_key)`
  );
}

/** The rollup summed over its items' state, named as the rollup's view names its columns. */
export function stateTotalsQuery(rollup: RollupDefinition, view: EntityView): string {
  const dimensions = rollup.dimensions
    .map((dimension) => `${dimensionColumn(rollup, dimension)} AS ${dimension.name}`)
    .join(', ');
  const sums = rollup.measures.flatMap((measure) => (measure.kind === 'sum' ? [measure] : []));
  const measures = rollup.measures
    .map((measure) =>
      measure.kind === 'count'
        ? `count() AS ${measure.name}`
        : view[measure.field]!.type === 'decimal'
          ? `sum(toDecimal256(${measureColumn(rollup, measure)}, ${view[measure.field]!.scale ?? 2})) AS ${measure.name}`
          : `sum(toInt128(${measureColumn(rollup, measure)})) AS ${measure.name}`,
    )
    .join(', ');
  const columns = [
    ...rollup.dimensions.map((dimension) => dimensionColumn(rollup, dimension)),
    countedColumn(rollup),
    ...sums.map((measure) => measureColumn(rollup, measure)),
  ];
  const names = rollup.dimensions.map((dimension) => dimension.name).join(', ');
  return `SELECT ${dimensions}, ${measures} FROM (${stateRowsQuery(itemsTable(rollup), columns)}) WHERE ${countedColumn(rollup)} = 1 GROUP BY ${names} ORDER BY ${names}`;
}
