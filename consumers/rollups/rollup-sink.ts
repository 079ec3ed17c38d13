import type { ClickHouseClient } from '@clickhouse/client';
import { compareVersions, type ChangeEvent } from '../../schemas/change-event.ts';
import { readField, ViewError, type EntityView, type FieldValue } from '../../schemas/views.ts';
import { faultPoint } from '../../core/fault.ts';
import { ClickHouseProgress } from '../clickhouse/progress.ts';
import type { Rejection, Sink, SinkBatch } from '../runtime/sink.ts';
import { contributionRows, sweptState, type ItemState } from './contribution.ts';
import { columnValue, type RollupDefinition } from './definition.ts';
import { ensureItemsTable, itemsTable, measureColumn, zeroValues } from './items-table.ts';
import { liveStatesBelow, statesOf } from './state.ts';
import { Sweeps, type Floors } from './sweeps.ts';

export interface RollupSinkOptions {
  group: string;
  clickhouse: ClickHouseClient;
  rollups: RollupDefinition[];
  /** Declared fields per entity. */
  views: Record<string, EntityView>;
  /**
   * The change topic of a table's items of an entity. A sweep of a table is applied by the members of that
   * topic's partitions only: in a group reading several topics, partition p of another topic is another
   * member's. Without it, every topic's batches sweep (a group reading one topic).
   */
  topicOf?: (table: string, entity: string) => string;
}

/**
 * Per insert: written synchronously (an acknowledged insert is stored before the progress that follows it),
 * whatever the server's profile says about asynchronous inserts.
 */
const INSERT_SETTINGS = { async_insert: 0 } as const;

/**
 * Rollups aggregated as changes are applied. Per rollup, an items table holds, for each change the sink
 * applied, a -1 row taking back the item's previous state and a +1 row with its new one; an aggregate
 * projection of that table, written inside the same data parts, sums the signed rows per group, and the
 * rollup's view reads it (its cost is the number of groups, not of items).
 *
 * The previous state comes from the items table (what this sink applied), never from the event's `before`
 * image. A change applies only when it is newer than the item's state, so duplicates, replays of any part
 * after a crash (whatever the batch boundaries), a snapshot overlapping the stream and out-of-order
 * records write nothing; a MODIFY that moves an order to another day or category moves its money.
 */
export class RollupSink implements Sink {
  readonly name = 'clickhouse-rollups';
  private readonly store: ClickHouseProgress;
  private readonly sweeps: Sweeps;

  constructor(private readonly options: RollupSinkOptions) {
    this.store = new ClickHouseProgress(options.clickhouse, options.group);
    this.sweeps = new Sweeps(options.clickhouse);
  }

  async open(): Promise<void> {
    const { clickhouse, rollups, views } = this.options;
    await this.store.open();
    await this.sweeps.open();
    for (const rollup of rollups) await ensureItemsTable(clickhouse, rollup, views[rollup.entity]!);
  }

  progress(topic: string, partition: number): Promise<string | undefined> {
    return this.store.read(topic, partition);
  }

  async apply(batch: SinkBatch, deadLetter: (rejections: Rejection[]) => Promise<void>): Promise<void> {
    // Floors first: a member applying another partition deletes what falls below them from its next batch on.
    await this.sweeps.record(batch.records.flatMap(({ event }) => (event?.op === 'SWEEP' ? [event] : [])));
    const { rollups } = this.options;
    // The floors and each rollup's stored states of the batch's items, read at once (they do not depend on each other).
    const [floors, ...applied] = await Promise.all([this.sweeps.floors(), ...rollups.map((rollup) => statesOf(this.options.clickhouse, rollup, itemsOf(rollup, batch)))]);
    const changes = new Map<RollupDefinition, ItemState[]>(rollups.map((rollup) => [rollup, []]));
    const rejections: Rejection[] = [];
    for (const { offset, key, event } of batch.records) {
      if (!event || event.op === 'SWEEP') continue;
      const reasons: string[] = [];
      for (const rollup of rollups) {
        if (event.entity !== rollup.entity) continue;
        try {
          changes.get(rollup)!.push(this.stateAfter(rollup, key, event, batch.partition, floors));
        } catch (error) {
          if (!(error instanceof ViewError)) throw error;
          reasons.push(`rollup ${rollup.name}: ${error.message}`);
        }
      }
      // One dead letter per record, however many rollups refused it.
      if (reasons.length > 0) rejections.push({ offset, reason: reasons.join('; ') });
    }
    await deadLetter(rejections);
    await Promise.all(rollups.map((rollup, index) => this.applyRollup(rollup, batch.topic, batch.partition, applied[index]!, changes.get(rollup)!, floors)));
    faultPoint('rollups.after-insert');
    await this.store.write(batch.topic, batch.partition, batch.nextOffset);
  }

  /**
   * One insert per rollup carries every contribution change of the batch: deltas from the states read
   * back, plus the deletes of this partition's items below a floor it has not swept yet. The swept floor
   * is recorded after that insert; a crash in between sweeps again, and finds nothing left to delete.
   */
  private async applyRollup(rollup: RollupDefinition, topic: string, partition: number, applied: Map<string, ItemState>, changes: ItemState[], floors: Floors): Promise<void> {
    const { clickhouse, views, topicOf } = this.options;
    const owed: { table: string; floor: string }[] = [];
    for (const { table, entity, floor } of floors.rows) {
      if (entity !== rollup.entity || (topicOf && topicOf(table, entity) !== topic)) continue;
      if (compareVersions(await this.sweeps.sweptFloor(rollup.name, table, partition), floor) >= 0) continue;
      owed.push({ table, floor });
      const zeros = zeroValues(rollup, views[rollup.entity]!);
      for (const [id, state] of await liveStatesBelow(clickhouse, rollup, table, partition, floor)) {
        applied.set(id, state);
        changes.push(sweptState(state, zeros));
      }
    }
    const rows = contributionRows(applied, changes);
    if (rows.length > 0) await clickhouse.insert({ table: itemsTable(rollup), values: rows, format: 'JSONEachRow', clickhouse_settings: INSERT_SETTINGS });
    for (const { table, floor } of owed) await this.sweeps.markSwept(rollup.name, table, partition, floor);
  }

  /**
   * The item's state after this change, as the rollup holds it. A delete, and any change below its table's
   * sweep floor (a late record of an item the re-snapshot did not find), leaves the item deleted at the
   * change's version.
   */
  private stateAfter(rollup: RollupDefinition, itemKey: string, event: ChangeEvent, partition: number, floors: Floors): ItemState {
    const view = this.options.views[rollup.entity]!;
    const state = { table: event.table, itemKey, version: event.version, partition };
    const image = event.after;
    if (event.op === 'REMOVE' || !image || compareVersions(event.version, floors.of(event.table, event.entity)) < 0) {
      return { ...state, deleted: true, values: zeroValues(rollup, view) };
    }
    const values: Record<string, FieldValue> = {};
    for (const dimension of rollup.dimensions) {
      const value = readField(image, dimension.field, view[dimension.field]!);
      if (value === null) throw new ViewError(`${dimension.field} is missing and has no default`);
      values[dimension.name] = columnValue(dimension.field, value, view[dimension.field]!, dimension.transform);
    }
    for (const measure of rollup.measures) {
      if (measure.kind !== 'sum') continue;
      const value = readField(image, measure.field, view[measure.field]!);
      if (value === null) throw new ViewError(`${measure.field} is missing and has no default`);
      values[measureColumn(measure.name)] = columnValue(measure.field, value, view[measure.field]!);
    }
    return { ...state, deleted: false, values };
  }

  async close(): Promise<void> {
    await this.store.flush();
  }
}

/** The items a batch changes in a rollup (records of the rollup's entity). */
function itemsOf(rollup: RollupDefinition, batch: SinkBatch): { table: string; itemKey: string }[] {
  return batch.records.flatMap(({ key, event }) => (event && event.op !== 'SWEEP' && event.entity === rollup.entity ? [{ table: event.table, itemKey: key }] : []));
}
