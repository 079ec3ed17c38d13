import type { ClickHouseClient } from '@clickhouse/client';
import type { ChangeEvent } from '../../schemas/change-event.ts';
import { readField, ViewError, type EntityView, type FieldValue } from '../../schemas/views.ts';
import { faultPoint } from '../../core/fault.ts';
import { ClickHouseProgress } from '../clickhouse/progress.ts';
import type { Rejection, Sink, SinkBatch } from '../runtime/sink.ts';
import { columnType, columnValue, sumOf, type RollupDefinition } from './definition.ts';
import { ensureItemsTable } from './items-table.ts';

export interface RollupSinkOptions {
  group: string;
  clickhouse: ClickHouseClient;
  rollups: RollupDefinition[];
  /** Declared fields per entity. */
  views: Record<string, EntityView>;
}

type Row = Record<string, FieldValue | number>;

export const itemsTable = (rollup: RollupDefinition): string => `rollup_${rollup.name}_items`;
const measureColumn = (name: string): string => `m_${name}`;
const SWEEPS_TABLE = 'rollup_sweeps';

/**
 * Rollups kept as per-item state: each order's (per table and key) latest version (and whether it is deleted) with the
 * dimensions and amounts it contributes, in a ReplacingMergeTree(version, is_deleted); the rollup is
 * a view that sums the current state. Duplicates, replays, a snapshot that overlaps the stream, and
 * changes that arrive out of order all end at the newest version of each item, so the sums are exact
 * whatever was delivered twice. MODIFY that moves an order to another day or category moves its
 * money, because only the item's newest row counts.
 */
export class RollupSink implements Sink {
  readonly name = 'clickhouse-rollups';
  private readonly store: ClickHouseProgress;

  constructor(private readonly options: RollupSinkOptions) {
    this.store = new ClickHouseProgress(options.clickhouse, options.group);
  }

  async open(): Promise<void> {
    const { clickhouse, rollups, views } = this.options;
    await this.store.open();
    // The highest sweep per table and entity: the version below which a re-snapshot found no item.
    await clickhouse.command({
      query: `CREATE TABLE IF NOT EXISTS ${SWEEPS_TABLE} (table String, entity String, version UInt256) ENGINE = ReplacingMergeTree(version) ORDER BY (table, entity)`,
    });
    for (const rollup of rollups) {
      const view = views[rollup.entity]!;
      await ensureItemsTable(clickhouse, rollup.name, itemsTable(rollup), {
        columns: [
          ['table', 'String'],
          ['item_key', 'String'],
          ['version', 'UInt256'],
          ['is_deleted', 'UInt8'],
          ...rollup.dimensions.map((dimension): [string, string] => [dimension.name, columnType(view[dimension.field]!, dimension.transform)]),
          ...rollup.measures.flatMap((measure): [string, string][] => (measure.kind === 'sum' ? [[measureColumn(measure.name), columnType(view[measure.field]!)]] : [])),
        ],
        engine: 'ReplacingMergeTree(version, is_deleted)',
        // An item is its table's: two tables of one entity may hold equal keys.
        orderBy: ['table', 'item_key'],
      });
      const dimensions = rollup.dimensions.map((dimension) => dimension.name).join(', ');
      const measures = rollup.measures.map((measure) => (measure.kind === 'count' ? `count() AS ${measure.name}` : `${sumOf(measureColumn(measure.name), view[measure.field]!)} AS ${measure.name}`)).join(', ');
      // Items below their table's sweep were not found by a re-snapshot: whatever row of theirs arrives,
      // early or late, it is not counted (a table never swept has floor 0).
      const floors = `(SELECT table, max(version) AS floor FROM ${SWEEPS_TABLE} WHERE entity = '${rollup.entity}' GROUP BY table)`;
      await clickhouse.command({
        query: `CREATE OR REPLACE VIEW ${rollup.name} AS SELECT ${dimensions}, ${measures} FROM ${itemsTable(rollup)} AS items FINAL `
          + `LEFT JOIN ${floors} AS sweeps ON items.table = sweeps.table WHERE is_deleted = 0 AND version >= sweeps.floor GROUP BY ${dimensions} ORDER BY ${dimensions}`,
      });
    }
  }

  progress(topic: string, partition: number): Promise<string | undefined> {
    return this.store.read(topic, partition);
  }

  async apply(batch: SinkBatch, deadLetter: (rejections: Rejection[]) => Promise<void>): Promise<void> {
    const rows = new Map<RollupDefinition, Row[]>(this.options.rollups.map((rollup) => [rollup, []]));
    const rejections: Rejection[] = [];
    const sweeps: ChangeEvent[] = [];
    for (const { offset, key, event } of batch.records) {
      if (!event) continue;
      if (event.op === 'SWEEP') {
        sweeps.push(event);
        continue;
      }
      const reasons: string[] = [];
      for (const rollup of this.options.rollups) {
        if (event.entity !== rollup.entity) continue;
        try {
          rows.get(rollup)!.push(this.row(rollup, key, event));
        } catch (error) {
          if (!(error instanceof ViewError)) throw error;
          reasons.push(`rollup ${rollup.name}: ${error.message}`);
        }
      }
      // One dead letter per record, however many rollups refused it.
      if (reasons.length > 0) rejections.push({ offset, reason: reasons.join('; ') });
    }
    await deadLetter(rejections);
    for (const [rollup, values] of rows) {
      if (values.length > 0) await this.options.clickhouse.insert({ table: itemsTable(rollup), values, format: 'JSONEachRow' });
    }
    for (const sweep of sweeps) await this.sweep(sweep);
    faultPoint('rollups.after-insert');
    await this.store.write(batch.topic, batch.partition, batch.nextOffset);
  }

  /**
   * A re-snapshot did not find the items of this table and entity below the sweep's version: they were
   * deleted while the stream's records were lost. The sweep is stored, and the rollup views leave out
   * every item below it, whether its row is here already or arrives later (a lagging partition, a replay).
   * Re-read rows carry the sweep's version, so every item that exists stays counted. Replaying it is harmless.
   */
  private async sweep(event: ChangeEvent): Promise<void> {
    await this.options.clickhouse.insert({ table: SWEEPS_TABLE, values: [{ table: event.table, entity: event.entity, version: event.version }], format: 'JSONEachRow' });
  }

  private row(rollup: RollupDefinition, itemKey: string, event: ChangeEvent): Row {
    const view = this.options.views[rollup.entity]!;
    const row: Row = { table: event.table, item_key: itemKey, version: event.version, is_deleted: event.op === 'REMOVE' ? 1 : 0 };
    const image = event.after;
    if (event.op === 'REMOVE' || !image) {
      // A deleted item contributes nothing; its row only has to be newer than what it replaces.
      for (const dimension of rollup.dimensions) row[dimension.name] = zeroOf(columnType(view[dimension.field]!, dimension.transform));
      for (const measure of rollup.measures) if (measure.kind === 'sum') row[measureColumn(measure.name)] = '0';
      return row;
    }
    for (const dimension of rollup.dimensions) {
      const value = readField(image, dimension.field, view[dimension.field]!);
      if (value === null) throw new ViewError(`${dimension.field} is missing and has no default`);
      row[dimension.name] = columnValue(dimension.field, value, view[dimension.field]!, dimension.transform);
    }
    for (const measure of rollup.measures) {
      if (measure.kind !== 'sum') continue;
      const value = readField(image, measure.field, view[measure.field]!);
      if (value === null) throw new ViewError(`${measure.field} is missing and has no default`);
      row[measureColumn(measure.name)] = columnValue(measure.field, value, view[measure.field]!);
    }
    return row;
  }

  async close(): Promise<void> {
    await this.store.flush();
  }
}

function zeroOf(type: string): FieldValue {
  if (type === 'Date') return '1970-01-01';
  if (type.startsWith('DateTime')) return '1970-01-01 00:00:00';
  if (type === 'Bool') return false;
  if (type === 'String') return '';
  return '0';
}
