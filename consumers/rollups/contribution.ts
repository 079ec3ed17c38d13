import { compareVersions } from '../../schemas/change-event.ts';
import type { FieldValue } from '../../schemas/views.ts';

/**
 * One item's state in a rollup as the sink applied it: its newest version, whether it is deleted, the
 * Kafka partition it lives in (its key's), and what it contributes (dimension and measure columns).
 * A deleted item contributes nothing but keeps its version, so that an older change cannot bring it back.
 */
export interface ItemState {
  table: string;
  itemKey: string;
  version: string;
  deleted: boolean;
  partition: number;
  /** Dimension, counted-flag and measure columns of the entity's rollups; zeros for a deleted item. */
  values: Record<string, FieldValue>;
  /**
   * Of a change only: columns it leaves as the item's previous state has them (those of a rollup that
   * refused the change's values), with what they hold when the item has no previous state (uncounted).
   */
  kept?: Record<string, FieldValue>;
}

/** A row of a rollup's items table: +1 adds a state's contribution to the aggregate, -1 takes it back. */
export type ItemRow = Record<string, FieldValue | number> & { sign: 1 | -1 };

export const itemId = (table: string, itemKey: string): string => `${table}\u0000${itemKey}`;

/**
 * Whether `candidate` supersedes `current`: a higher version, or a delete of the same version (a sweep
 * deletes an item at the version it holds). A duplicate, a replay or an older change is not newer.
 */
export function isNewer(
  candidate: Pick<ItemState, 'version' | 'deleted'>,
  current: Pick<ItemState, 'version' | 'deleted'> | undefined,
): boolean {
  if (!current) return true;
  const order = compareVersions(candidate.version, current.version);
  return order > 0 || (order === 0 && candidate.deleted && !current.deleted);
}

/**
 * The rows that move the aggregate from the states read from the store (`applied`, what the sink itself
 * wrote before) to the newest of `changes`, which are applied in order over them. Per item that changed:
 * -1 for the state it had (its exact previous contribution) and +1 for its new state. An item whose
 * changes are all duplicates or older than its state yields nothing, which is what makes a replay free.
 * Every -1 row comes before every +1 row: if the store splits the insert into parts and only a prefix
 * survives a crash, an item is at worst left with its old state taken back and no new one, which the
 * replay of the batch adds (it reads that state and finds the item absent), never with both states counted.
 */
export function contributionRows(applied: Map<string, ItemState>, changes: ItemState[]): ItemRow[] {
  return rowsOf(applied, newestStates(applied, changes), rowOf);
}

/** Per item that changed, its state after `changes` are applied in order over `applied`: what the rows make it. */
export function newestStates(applied: Map<string, ItemState>, changes: ItemState[]): Map<string, ItemState> {
  const newest = new Map<string, ItemState>();
  for (const change of changes) {
    const id = itemId(change.table, change.itemKey);
    const current = newest.get(id) ?? applied.get(id);
    if (isNewer(change, current)) newest.set(id, over(change, current));
  }
  return newest;
}

/** The rows taking each changed item from its applied state to its newest one (see contributionRows), made by `row`. */
export function rowsOf<Row>(
  applied: Map<string, ItemState>,
  newest: Map<string, ItemState>,
  row: (state: ItemState, sign: 1 | -1) => Row,
): Row[] {
  const retractions: Row[] = [];
  const additions: Row[] = [];
  for (const [id, state] of newest) {
    const previous = applied.get(id);
    if (previous) retractions.push(row(previous, -1));
    additions.push(row(state, 1));
  }
  return [...retractions, ...additions];
}

/** A change as a state over the item's current one: its kept columns take the current state's values. */
function over(change: ItemState, current: ItemState | undefined): ItemState {
  if (!change.kept) return change;
  const { kept, ...state } = change;
  const values = { ...state.values };
  for (const [column, uncounted] of Object.entries(kept))
    values[column] = current ? current.values[column]! : uncounted;
  return { ...state, values };
}

/** The state deleted at the version it holds: what a sweep makes of an item the re-snapshot did not find. */
export function sweptState(state: ItemState, zeros: Record<string, FieldValue>): ItemState {
  return { ...state, deleted: true, values: zeros };
}

function rowOf(state: ItemState, sign: 1 | -1): ItemRow {
  return {
    table: state.table,
    item_key: state.itemKey,
    version: state.version,
    is_deleted: state.deleted ? 1 : 0,
    partition: state.partition,
    ...state.values,
    sign,
  };
}
