import type { ClickHouseClient } from '@clickhouse/client';
import { compareVersions, type ChangeEvent } from '../../schemas/change-event.ts';

const FLOORS_TABLE = 'rollup_sweeps';
const SWEPT_TABLE = 'rollup_sweeps_applied';

/**
 * How long stored floors are reused before they are read again. A floor seen later only delays its sweep:
 * the items this member counted below it meanwhile are deleted by that sweep, which finds every live item
 * of the partition below the floor. A batch that records a floor itself reads them again at once.
 */
const FLOORS_REFRESH_MS = 1_000;

const floorKey = (table: string, entity: string): string => `${table}\u0000${entity}`;
const sweptKey = (itemsTable: string, table: string, partition: number): string =>
  `${itemsTable}\u0000${table}\u0000${partition}`;

/**
 * Re-snapshot sweeps. A SWEEP event says the items of its table and entity below its version (the floor)
 * were not found by the re-scan. Its floor is stored for every member: a change of an item below the floor,
 * wherever and whenever it arrives, is applied as a delete. Deleting the items already counted is done per
 * partition by the member that owns it (items live in their key's partition, so no two members ever write one
 * item); each partition records the floor it swept, so its items are looked up once per sweep.
 */
export class Sweeps {
  /** Floors swept per items table, table and partition, as stored: they only grow, so a cached one is never too high. */
  private readonly swept = new Map<string, string>();
  /**
   * The highest floors seen, and when they were last read. Floors only grow, so reads are merged by maximum:
   * a read that began before a floor was recorded (another partition's batch, applied concurrently) may
   * return after it and must not take it back, or a late record below it would be applied as live while its
   * partition already counts it swept.
   */
  private known = new Floors([]);
  private readAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly clickhouse: ClickHouseClient) {}

  async open(): Promise<void> {
    // The highest sweep per table and entity: the version below which a re-snapshot found no item.
    await this.clickhouse.command({
      query: `CREATE TABLE IF NOT EXISTS ${FLOORS_TABLE} (table String, entity String, version UInt256) ENGINE = ReplacingMergeTree(version) ORDER BY (table, entity)`,
    });
    // `rollup` names the items table swept (one per entity; it named a rollup's table in the layout before).
    await this.clickhouse.command({
      query: `CREATE TABLE IF NOT EXISTS ${SWEPT_TABLE} (rollup String, table String, partition UInt32, version UInt256) ENGINE = ReplacingMergeTree(version) ORDER BY (rollup, table, partition)`,
    });
  }

  /** Stores the floors of these SWEEP events (storing one again is harmless). */
  async record(events: ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.clickhouse.insert({
      table: FLOORS_TABLE,
      values: events.map((event) => ({ table: event.table, entity: event.entity, version: event.version })),
      format: 'JSONEachRow',
    });
    this.known = this.known.raisedBy(events.map(({ table, entity, version }) => ({ table, entity, floor: version })));
    this.refresh();
  }

  /** Reads the floors again at the next batch (a new assignment: others may have stored floors meanwhile). */
  refresh(): void {
    this.readAt = Number.NEGATIVE_INFINITY;
  }

  /** Every stored floor, by table and entity; read again after FLOORS_REFRESH_MS, so that a floor another member stored is seen. */
  async floors(): Promise<Floors> {
    if (Date.now() - this.readAt < FLOORS_REFRESH_MS) return this.known;
    const readAt = Date.now();
    const result = await this.clickhouse.query({
      query: `SELECT table, entity, max(version) AS floor FROM ${FLOORS_TABLE} GROUP BY table, entity`,
      format: 'JSONEachRow',
    });
    this.known = this.known.raisedBy(await result.json<{ table: string; entity: string; floor: string }>());
    this.readAt = Math.max(this.readAt, readAt);
    return this.known;
  }

  /** The floor below which an items table's items of a table in a partition were deleted; '0' when none was. */
  async sweptFloor(itemsTable: string, table: string, partition: number): Promise<string> {
    const key = sweptKey(itemsTable, table, partition);
    const cached = this.swept.get(key);
    if (cached !== undefined) return cached;
    const result = await this.clickhouse.query({
      query: `SELECT toString(max(version)) AS floor FROM ${SWEPT_TABLE} WHERE rollup = {rollup:String} AND table = {table:String} AND partition = {partition:UInt32}`,
      query_params: { rollup: itemsTable, table, partition },
      format: 'JSONEachRow',
    });
    const floor = (await result.json<{ floor: string }>())[0]?.floor ?? '0';
    this.swept.set(key, floor);
    return floor;
  }

  /** Records that a partition's items below `floor` were deleted (after the rows doing it are stored). */
  async markSwept(itemsTable: string, table: string, partition: number, floor: string): Promise<void> {
    await this.clickhouse.insert({
      table: SWEPT_TABLE,
      values: [{ rollup: itemsTable, table, partition, version: floor }],
      format: 'JSONEachRow',
    });
    this.swept.set(sweptKey(itemsTable, table, partition), floor);
  }
}

/** Stored floors by table and entity. */
export class Floors {
  private readonly byKey: Map<string, string>;

  constructor(readonly rows: { table: string; entity: string; floor: string }[]) {
    this.byKey = new Map(rows.map((row) => [floorKey(row.table, row.entity), row.floor]));
  }

  /** These floors raised by others: per table and entity, the higher one. */
  raisedBy(others: { table: string; entity: string; floor: string }[]): Floors {
    const highest = new Map(this.rows.map((row) => [floorKey(row.table, row.entity), row]));
    for (const other of others) {
      const key = floorKey(other.table, other.entity);
      if (compareVersions(other.floor, highest.get(key)?.floor ?? '0') > 0) highest.set(key, other);
    }
    return new Floors([...highest.values()]);
  }

  /** The floor of a table and entity; '0' (nothing is below it) when never swept. */
  of(table: string, entity: string): string {
    return this.byKey.get(floorKey(table, entity)) ?? '0';
  }
}
