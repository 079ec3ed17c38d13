import type { ClickHouseClient } from '@clickhouse/client';
import type { EntityView } from '../../schemas/views.ts';
import type { RollupDefinition } from './definition.ts';
import { itemsTable } from './items-table.ts';
import { stateRowsQuery, stateTotalsQuery } from './state.ts';

/** A group where the rollup's aggregate and the sum over its items' state disagree (null: no such group). */
export interface AggregateDifference {
  rollup: string;
  group: Record<string, string>;
  aggregate: Record<string, string> | null;
  state: Record<string, string> | null;
}

type Row = Record<string, unknown>;
/** Runs a SELECT and returns its rows (a client, or `shardline query`'s path to a running process). */
export type ReadRows = (query: string) => Promise<Row[]>;

export const readerOf =
  (clickhouse: ClickHouseClient): ReadRows =>
  async (query) =>
    (await clickhouse.query({ query, format: 'JSONEachRow' })).json<Row>();

/**
 * Compares a rollup's aggregate (what `SELECT * FROM <rollup>` answers) with the same rollup summed over
 * the state, each item's newest row. They can only differ if rows were written that no applied change
 * explains: a member writing after it lost its partition, or a hand-made change of the table.
 */
export async function aggregateDifferences(
  read: ReadRows,
  rollup: RollupDefinition,
  view: EntityView,
): Promise<AggregateDifference[]> {
  const dimensions = rollup.dimensions.map((dimension) => dimension.name);
  const keyOf = (row: Row): string =>
    JSON.stringify(Object.fromEntries(dimensions.map((name) => [name, String(row[name])])));
  const measuresOf = (row: Row | undefined): Record<string, string> | null =>
    row ? Object.fromEntries(rollup.measures.map((measure) => [measure.name, String(row[measure.name])])) : null;
  const aggregate = new Map((await read(`SELECT * FROM ${rollup.name}`)).map((row) => [keyOf(row), row]));
  const state = new Map((await read(stateTotalsQuery(rollup, view))).map((row) => [keyOf(row), row]));
  const differences: AggregateDifference[] = [];
  for (const key of new Set([...aggregate.keys(), ...state.keys()])) {
    const [fromAggregate, fromState] = [measuresOf(aggregate.get(key)), measuresOf(state.get(key))];
    if (JSON.stringify(fromAggregate) !== JSON.stringify(fromState))
      differences.push({
        rollup: rollup.name,
        group: JSON.parse(key) as Record<string, string>,
        aggregate: fromAggregate,
        state: fromState,
      });
  }
  return differences;
}

/**
 * Rebuilds the items table of a rollup's entity (which holds every rollup of the entity) from its state: a
 * new table of the same layout gets one +1 row per item (its newest state, deleted ones kept for their
 * versions), and takes the old one's place in one EXCHANGE. Its projections are computed from those rows, so
 * each aggregate equals the sum over the state. Changes applied meanwhile would be lost with the old table:
 * the caller makes sure the rollups group is stopped.
 */
export async function rebuildRollup(
  clickhouse: ClickHouseClient,
  rollup: RollupDefinition,
): Promise<{ items: number }> {
  const table = itemsTable(rollup);
  const rebuilt = `${table}_rebuild`;
  const read = readerOf(clickhouse);
  // The value columns are the table's own: every rollup of the entity, as the sink made them.
  const values = (
    await read(
      `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '${table}' ORDER BY position`,
    )
  )
    .map((row) => String(row.name))
    .filter((name) => !FIXED_COLUMNS.includes(name));
  const columns = ['table', 'item_key', 'version', 'is_deleted', 'partition', ...values];
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${rebuilt}` });
  await clickhouse.command({ query: `CREATE TABLE ${rebuilt} AS ${table}` });
  await clickhouse.command({
    query: `INSERT INTO ${rebuilt} (${columns.join(', ')}, sign) SELECT ${columns.join(', ')}, 1 FROM (${stateRowsQuery(table, values)})`,
  });
  await clickhouse.command({ query: `EXCHANGE TABLES ${table} AND ${rebuilt}` });
  await clickhouse.command({ query: `DROP TABLE ${rebuilt}` });
  const [counted] = await read(`SELECT count() AS items FROM ${table}`);
  return { items: Number(counted!.items) };
}

const FIXED_COLUMNS = ['table', 'item_key', 'version', 'is_deleted', 'partition', 'sign'];
