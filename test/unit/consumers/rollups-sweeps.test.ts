import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { Sweeps } from '../../../consumers/rollups/sweeps.ts';
import type { ChangeEvent } from '../../../schemas/change-event.ts';

type FloorRow = { table: string; entity: string; floor: string };

/**
 * The floors table as the queries of Sweeps see it; each read answers what was stored when it began, and
 * returns when the test lets it (a slow query of one member's batch while another records a floor).
 */
function floorsStore() {
  const stored: FloorRow[] = [];
  const pending: (() => void)[] = [];
  let reads = 0;
  const clickhouse = {
    command: async () => ({}),
    insert: async ({ values }: { values: { table: string; entity: string; version: string }[] }) => {
      stored.push(...values.map(({ table, entity, version }) => ({ table, entity, floor: version })));
      return {};
    },
    query: async () => {
      reads++;
      const seen = [...stored];
      await new Promise<void>((resolve) => pending.push(resolve));
      return { json: async () => seen };
    },
  } as unknown as ClickHouseClient;
  /** Lets the newest read still in flight return. */
  const release = async () => {
    pending.pop()!();
    await new Promise((resolve) => setImmediate(resolve));
  };
  /** The floors of a read: released at once if it queries the store. */
  const answer = async (read: () => ReturnType<Sweeps['floors']>) => {
    const before = reads;
    const floors = read();
    await new Promise((resolve) => setImmediate(resolve));
    if (reads > before) await release();
    return floors;
  };
  return { clickhouse, release, answer, reads: () => reads };
}

const sweep = (version: string) => ({ op: 'SWEEP', table: 'orders', entity: 'order', version }) as ChangeEvent;

test('a floors read that began before a floor was recorded does not hide it when it returns late', async () => {
  const { clickhouse, release, answer } = floorsStore();
  const sweeps = new Sweeps(clickhouse);
  // Partition r's batch reads the floors; the query is slow.
  const late = sweeps.floors();
  // Partition q's batch records SWEEP(F) and reads the floors, which hold it.
  await sweeps.record([sweep('100')]);
  const current = sweeps.floors();
  await release();
  await release();
  await late;
  assert.equal((await current).of('orders', 'order'), '100');
  // q's next batch, within the refresh period: a late record of q below F must still see F.
  assert.equal((await answer(() => sweeps.floors())).of('orders', 'order'), '100');
});

test('after an assignment the floors are read again, not taken from the cache', async () => {
  const { clickhouse, answer, reads } = floorsStore();
  const sweeps = new Sweeps(clickhouse);
  await sweeps.record([sweep('100')]);
  assert.equal((await answer(() => sweeps.floors())).of('orders', 'order'), '100');
  sweeps.refresh();
  assert.equal((await answer(() => sweeps.floors())).of('orders', 'order'), '100');
  assert.equal(reads(), 2);
});
