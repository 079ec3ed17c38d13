/**
 * Applies orders through a rollup sink in a process of its own, then exits: the timed queries run in
 * another process, as a user's would, without the states the sink kept, and the load's peak RSS is the
 * sink's alone. Prints `RESULT {"rate":…,"peakRssMb":…}` on stdout.
 */
import { connectClickHouse, type ClickHouseTarget } from '../consumers/clickhouse/client.ts';
import { defaultOrderView, defaultRollups } from '../consumers/rollups/definition.ts';
import { RollupSink } from '../consumers/rollups/rollup-sink.ts';
import type { SinkBatch } from '../consumers/runtime/sink.ts';
import { peakRssMb, rateOf } from './measure.ts';
import { orderEvents } from './orders.ts';

export interface RollupLoad {
  target: ClickHouseTarget;
  group: string;
  items: number;
  /** Records per apply. */
  batch: number;
}

function orderBatch(first: number, count: number): SinkBatch {
  const records = orderEvents(count, first).map(({ key, event }, offset) => ({
    offset: String(first + offset),
    key,
    event,
  }));
  return { topic: 'bench.orders.order', partition: 0, records, nextOffset: String(first + count) };
}

const { target, group, items, batch } = JSON.parse(process.argv[2]!) as RollupLoad;
const clickhouse = await connectClickHouse(target);
const sink = new RollupSink({ group, clickhouse, rollups: defaultRollups, views: { order: defaultOrderView } });
await sink.open();
const rate = await rateOf(items, async () => {
  for (let first = 0; first < items; first += batch)
    await sink.apply(orderBatch(first, Math.min(batch, items - first)), async () => {});
});
await sink.close();
await clickhouse.close();
console.log(`RESULT ${JSON.stringify({ rate, peakRssMb: peakRssMb() })}`);
process.exit(0);
