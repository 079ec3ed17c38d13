import type { ClickHouseClient } from '@clickhouse/client';
import { compareVersions, type ChangeEvent, type DynamoImage } from '../../schemas/change-event.ts';
import { readField, ViewError, type EntityView, type FieldValue } from '../../schemas/views.ts';
import { faultPoint } from '../../core/fault.ts';
import { insertJsonRows } from '../clickhouse/insert.ts';
import { ClickHouseProgress } from '../clickhouse/progress.ts';
import type { Rejection, Sink, SinkBatch, TopicPartition } from '../runtime/sink.ts';
import { AppliedStates } from './applied-states.ts';
import { newestStates, rowsOf, sweptState, type ItemState } from './contribution.ts';
import { columnValue, type RollupDefinition } from './definition.ts';
import {
  countedColumn,
  dimensionColumn,
  ensureItemsTable,
  entityTable,
  measureColumn,
  uncountedValues,
} from './items-table.ts';
import { liveStatesBelow, statesOf } from './state.ts';
import { Sweeps, type Floors } from './sweeps.ts';
import { recordWriter, sharedTables, storedItems } from './writers.ts';

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
  /** States kept in memory per entity, so that a batch reads back only items it does not know (DEFAULT_KEPT_STATES). */
  keptStates?: number;
}

/**
 * Per insert: written synchronously (an acknowledged insert is stored before the progress that follows it),
 * whatever the server's profile says about asynchronous inserts.
 */
const INSERT_SETTINGS = { async_insert: 0 } as const;

/** An entity's rollups and their shared items table. */
interface EntityRollups {
  entity: string;
  table: string;
  rollups: RollupDefinition[];
  /** What each rollup reads of an image, in the order of `rollups`. */
  reads: RollupReads[];
  view: EntityView;
  /** Value columns of the table (every rollup's), as read back and written. */
  columns: string[];
  /** Every column of a row, in the order of the arrays inserted. */
  insertColumns: [string, ...string[]];
  /** Those columns for a deleted item. */
  deleted: Record<string, FieldValue>;
  /** The table's instance (ensureItemsTable), known once open: the writers recorded for it are the ones that count. */
  instance: string;
  /** The states of the items this sink applies, as the table holds them. */
  applied: AppliedStates;
  /**
   * Whether this group is the only one that has written the table, checked before every batch: only then
   * are states kept. Once another group is recorded it stays false (that group may go on writing).
   */
  soleWriter: boolean;
}

/**
 * Rollups aggregated as changes are applied. Per entity, one items table holds, for each change the sink
 * applied, a -1 row taking back the item's previous state and a +1 row with its new one (its values for every
 * rollup of the entity); an aggregate projection per rollup, written inside the same data parts, sums the
 * signed rows per group, and the rollup's view reads it (its cost is the number of groups, not of items).
 *
 * The previous state comes from the items table (what this sink applied), never from the event's `before`
 * image. A change applies only when it is newer than the item's state, so duplicates, replays of any part
 * after a crash (whatever the batch boundaries), a snapshot overlapping the stream and out-of-order
 * records write nothing; a MODIFY that moves an order to another day or category moves its money.
 * Per batch and entity: one insert, and one read of the states of the items it does not keep (AppliedStates).
 */
export class RollupSink implements Sink {
  readonly name = 'clickhouse-rollups';
  private readonly store: ClickHouseProgress;
  private readonly sweeps: Sweeps;
  private readonly entities: EntityRollups[];

  constructor(private readonly options: RollupSinkOptions) {
    this.store = new ClickHouseProgress(options.clickhouse, options.group);
    this.sweeps = new Sweeps(options.clickhouse);
    this.entities = [...new Set(options.rollups.map((rollup) => rollup.entity))].map((entity) => {
      const rollups = options.rollups.filter((rollup) => rollup.entity === entity);
      const view = options.views[entity]!;
      const deleted = Object.assign({}, ...rollups.map((rollup) => uncountedValues(rollup, view))) as Record<
        string,
        FieldValue
      >;
      return {
        entity,
        table: entityTable(entity),
        rollups,
        reads: rollups.map(rollupReads),
        view,
        columns: Object.keys(deleted),
        insertColumns: ['table', 'item_key', 'version', 'is_deleted', 'partition', ...Object.keys(deleted), 'sign'],
        deleted,
        instance: '',
        applied: new AppliedStates(options.keptStates),
        soleWriter: false,
      };
    });
  }

  async open(): Promise<void> {
    await this.store.open();
    await this.sweeps.open();
    for (const entity of this.entities)
      entity.instance = await ensureItemsTable(this.options.clickhouse, entity.entity, entity.rollups, entity.view);
    await recordWriter(this.options.clickhouse, this.entities, this.options.group);
    for (const entity of this.entities) entity.soleWriter = true;
    this.stopKeeping(await this.sharedTables());
  }

  /** Those of the tables this sink still takes for its group's alone that another group has written. */
  private async sharedTables(): Promise<Set<string>> {
    const sole = this.entities.filter((entity) => entity.soleWriter);
    return sole.length === 0 ? new Set() : sharedTables(this.options.clickhouse, sole, this.options.group);
  }

  /**
   * Stops keeping states of tables another group has written: its rows are neither in this sink's memory
   * nor under this group's partitioning. Returns the entities it stopped keeping.
   */
  private stopKeeping(shared: Set<string>): EntityRollups[] {
    const stopped = this.entities.filter((entity) => entity.soleWriter && shared.has(entity.table));
    for (const entity of stopped) {
      entity.soleWriter = false;
      entity.applied.clear();
    }
    return stopped;
  }

  /** The applied states of a batch's items of an entity: kept ones while only this group writes its table, else all read. */
  private appliedOf(entity: EntityRollups, batch: SinkBatch): Promise<Map<string, ItemState>> {
    const { clickhouse } = this.options;
    const read = (items: { table: string; itemKey: string }[]) =>
      statesOf(clickhouse, entity.table, entity.columns, items);
    const items = itemsOf(entity.entity, batch);
    return entity.soleWriter
      ? entity.applied.of(batch.topic, batch.partition, items, read, () =>
          storedItems(clickhouse, entity.table, batch.partition),
        )
      : read(items);
  }

  /**
   * Asked when the partition is assigned: another member may have applied it since, so its states are read
   * again, and the floors (it may have recorded some) with its next batch.
   */
  progress(topic: string, partition: number): Promise<string | undefined> {
    for (const entity of this.entities) entity.applied.forget(topic, partition);
    this.sweeps.refresh();
    return this.store.read(topic, partition);
  }

  /** Partitions now another member's: their states and Bloom filters are dropped (a filter is 16 MiB). */
  release(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions)
      for (const entity of this.entities) entity.applied.forget(topic, partition);
  }

  async apply(batch: SinkBatch, deadLetter: (rejections: Rejection[]) => Promise<void>): Promise<void> {
    // Floors first: a member applying another partition deletes what falls below them from its next batch on.
    await this.sweeps.record(batch.records.flatMap(({ event }) => (event?.op === 'SWEEP' ? [event] : [])));
    // The floors, the groups writing the tables and each entity's applied states of the batch's items, read at
    // once (the writers' read, a few rows, costs about as much as a query does: ~4 ms embedded).
    const [floors, shared, ...applied] = await Promise.all([
      this.sweeps.floors(),
      this.sharedTables(),
      ...this.entities.map((entity) => this.appliedOf(entity, batch)),
    ]);
    // Another group recorded itself since the last batch (a new group id deployed while this one runs): what
    // this sink kept may miss its rows, so this batch's states are read from the store. A group recorded
    // after this read and writing before this batch's insert is not seen until the next batch.
    for (const entity of this.stopKeeping(shared))
      applied[this.entities.indexOf(entity)] = await this.appliedOf(entity, batch);
    const changes = new Map<EntityRollups, ItemState[]>(this.entities.map((entity) => [entity, []]));
    const rejections: Rejection[] = [];
    for (const { offset, key, event } of batch.records) {
      if (!event || event.op === 'SWEEP') continue;
      const entity = this.entities.find((candidate) => candidate.entity === event.entity);
      if (!entity) continue;
      const { change, refusals } = this.changeOf(entity, key, event, batch.partition, floors);
      if (change) changes.get(entity)!.push(change);
      // One dead letter per record, however many rollups refused it.
      if (refusals.length > 0) rejections.push({ offset, reason: refusals.join('; ') });
    }
    await deadLetter(rejections);
    // Every entity's insert settled before the batch fails: a retry must not read a table an insert may still land in.
    const outcomes = await Promise.allSettled(
      this.entities.map((entity, index) =>
        this.applyEntity(entity, batch.topic, batch.partition, applied[index]!, changes.get(entity)!, floors),
      ),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    faultPoint('rollups.after-insert');
    await this.store.write(batch.topic, batch.partition, batch.nextOffset);
  }

  /**
   * One insert per entity carries every contribution change of the batch: deltas from the states read
   * back, plus the deletes of this partition's items below a floor it has not swept yet. The swept floor
   * is recorded after that insert; a crash in between sweeps again, and finds nothing left to delete.
   */
  private async applyEntity(
    entity: EntityRollups,
    topic: string,
    partition: number,
    applied: Map<string, ItemState>,
    changes: ItemState[],
    floors: Floors,
  ): Promise<void> {
    const { clickhouse, topicOf } = this.options;
    const owed: { table: string; floor: string }[] = [];
    for (const { table, entity: swept, floor } of floors.rows) {
      if (swept !== entity.entity || (topicOf && topicOf(table, swept) !== topic)) continue;
      if (compareVersions(await this.sweeps.sweptFloor(entity.table, table, partition), floor) >= 0) continue;
      owed.push({ table, floor });
      for (const [id, state] of await liveStatesBelow(
        clickhouse,
        entity.table,
        entity.columns,
        table,
        partition,
        floor,
      )) {
        applied.set(id, state);
        changes.push(sweptState(state, entity.deleted));
      }
    }
    const newest = newestStates(applied, changes);
    // Arrays in column order: the store parses them faster than objects naming every column.
    const rows = rowsOf(applied, newest, (state, sign) => [
      state.table,
      state.itemKey,
      state.version,
      state.deleted ? 1 : 0,
      state.partition,
      ...entity.columns.map((column) => state.values[column]),
      sign,
    ]);
    try {
      await insertJsonRows(clickhouse, {
        table: entity.table,
        columns: entity.insertColumns,
        rows,
        format: 'JSONCompactEachRow',
        settings: INSERT_SETTINGS,
      });
    } catch (error) {
      // The insert may or may not have been stored: the partition's states are read again.
      entity.applied.forget(topic, partition);
      throw error;
    }
    entity.applied.remember(topic, partition, newest.values());
    for (const { table, floor } of owed) await this.sweeps.markSwept(entity.table, table, partition, floor);
  }

  /**
   * The item's state after this change, with its values for each rollup of the entity. A delete, and any
   * change below its table's sweep floor (a late record of an item the re-snapshot did not find), leaves the
   * item deleted at the change's version. A rollup that cannot hold the change's values keeps the item as it
   * had it (its columns are kept); a change no rollup can hold is not applied.
   */
  private changeOf(
    entity: EntityRollups,
    itemKey: string,
    event: ChangeEvent,
    partition: number,
    floors: Floors,
  ): { change?: ItemState; refusals: string[] } {
    const state = { table: event.table, itemKey, version: event.version, partition };
    const image = event.after;
    if (event.op === 'REMOVE' || !image || compareVersions(event.version, floors.of(event.table, event.entity)) < 0) {
      return { change: { ...state, deleted: true, values: entity.deleted }, refusals: [] };
    }
    const values: Record<string, FieldValue> = {};
    const kept: Record<string, FieldValue> = {};
    const refusals: string[] = [];
    const valueOf = fieldReader(image, entity.view);
    for (const reads of entity.reads) {
      const { rollup } = reads;
      try {
        Object.assign(values, rollupValues(reads, valueOf));
      } catch (error) {
        if (!(error instanceof ViewError)) throw error;
        refusals.push(`rollup ${rollup.name}: ${error.message}`);
        Object.assign(kept, uncountedValues(rollup, entity.view));
      }
    }
    if (refusals.length === entity.rollups.length) return { refusals };
    return { change: { ...state, deleted: false, values, ...(refusals.length > 0 ? { kept } : {}) }, refusals };
  }

  async close(): Promise<void> {
    await this.store.flush();
  }
}

/** A value a rollup reads of an image and the column it goes to. */
interface ColumnRead {
  column: string;
  field: string;
  transform?: 'day' | 'month';
  /** The field and its transform: rollups reading both share one read. */
  readKey: string;
}

/** What a rollup reads of an image, the names made once rather than per change. */
interface RollupReads {
  rollup: RollupDefinition;
  counted: string;
  /** Its dimensions, then its sums. */
  columns: ColumnRead[];
}

function rollupReads(rollup: RollupDefinition): RollupReads {
  const read = (column: string, field: string, transform?: 'day' | 'month'): ColumnRead => ({
    column,
    field,
    transform,
    readKey: transform ? `${field}\u0000${transform}` : field,
  });
  return {
    rollup,
    counted: countedColumn(rollup),
    columns: [
      ...rollup.dimensions.map((dimension) =>
        read(dimensionColumn(rollup, dimension), dimension.field, dimension.transform),
      ),
      ...rollup.measures.flatMap((measure) =>
        measure.kind === 'sum' ? [read(measureColumn(rollup, measure), measure.field)] : [],
      ),
    ],
  };
}

type FieldReader = (read: ColumnRead) => FieldValue;

/**
 * An image's fields as rollup columns hold them, each read and checked once however many rollups use it;
 * throws a ViewError for a missing field or a value the column cannot hold.
 */
function fieldReader(image: DynamoImage, view: EntityView): FieldReader {
  const outcomes = new Map<string, FieldValue | ViewError>();
  return ({ field, transform, readKey: key }) => {
    let outcome = outcomes.get(key);
    if (outcome === undefined) {
      try {
        const value = readField(image, field, view[field]!);
        if (value === null) throw new ViewError(`${field} is missing and has no default`);
        outcome = columnValue(field, value, view[field]!, transform);
      } catch (error) {
        if (!(error instanceof ViewError)) throw error;
        outcome = error;
      }
      outcomes.set(key, outcome);
    }
    if (outcome instanceof ViewError) throw outcome;
    return outcome;
  };
}

/** A rollup's columns for an item image it counts; throws a ViewError for a value its column cannot hold. */
function rollupValues({ counted, columns }: RollupReads, valueOf: FieldReader): Record<string, FieldValue> {
  const values: Record<string, FieldValue> = { [counted]: '1' };
  for (const read of columns) values[read.column] = valueOf(read);
  return values;
}

/** The items a batch changes of an entity. */
function itemsOf(entity: string, batch: SinkBatch): { table: string; itemKey: string }[] {
  return batch.records.flatMap(({ key, event }) =>
    event && event.op !== 'SWEEP' && event.entity === entity ? [{ table: event.table, itemKey: key }] : [],
  );
}
