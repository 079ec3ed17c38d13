/**
 * One instance of a scaled-out connector for the scale-out bench, in its own process: it joins the group
 * with the others and holds its stream reads until the bench creates `<dir>/go` (so the instances' joins,
 * and the rebalances they cause, come before the clock starts); then it writes the records of the units the
 * group gave it, creates `<dir>/<instance>.done`, and stops once `<dir>/stop` exists (an instance leaving
 * earlier would start a rebalance under the others). Prints `RESULT {…}` (ScaleOutTurnResult) on stdout.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectorMetrics } from '../connector/metrics.ts';
import { connectorGroupId, ScaledConnector, unitsTopic } from '../connector/scale-out/scaled-connector.ts';
import { unitOwners } from '../connector/scale-out/unit-assigner.ts';
import { unitOfShard } from '../connector/scale-out/units.ts';
import type { ReadResult } from '../connector/shards/source.ts';
import { WrappedSource } from '../connector/shards/wrapped-source.ts';
import { baseConnectorOptions } from '../test/harness/connector.ts';
import { recordsWritten } from './connector-records.ts';
import { peakRssMb } from './measure.ts';
import { recordedSource, recordedStream } from './recorded-stream.ts';

export interface ScaleOutRun {
  /** Names the turn's connector and topics; every instance of a turn shares it. */
  prefix: string;
  /** Names the recorded stream (the same in every instance). */
  stream: string;
  shards: number;
  perShard: number;
  units: number;
  instance: string;
  /** Where the bench and the instances leave their go, done and stop files. */
  dir: string;
}

export interface ScaleOutTurnResult {
  instance: string;
  units: number[];
  records: number;
  /** Epoch ms when it saw the go (its reads let go), and when the last record of its share was written. */
  startedAt: number;
  endedAt: number;
  rate: number;
  /** User and system CPU of the process from the go to the end of its share. */
  cpuSeconds: number;
  peakRssMb: number;
  /** Rebalances between the go and the end of its share: a turn with any is not a steady measurement. */
  rebalancesDuring: number;
}

/** A source that reads nothing until opened: the instances wait for each other with their units fenced and loaded. */
class GatedSource extends WrappedSource {
  open = false;
  override read(shardId: string, iterator: string, limit: number): Promise<ReadResult> {
    if (!this.open) return Promise.resolve({ records: [], nextIterator: iterator });
    return this.source.read(shardId, iterator, limit);
  }
}

const until = async (condition: () => boolean | Promise<boolean>): Promise<void> => {
  while (!(await condition())) await sleep(10);
};
const rebalances = async (): Promise<number> => (await connectorMetrics.rebalances.get()).values[0]?.value ?? 0;

async function runInstance(run: ScaleOutRun): Promise<ScaleOutTurnResult> {
  const options = baseConnectorOptions(run.prefix);
  const source = new GatedSource(recordedSource(recordedStream(run.stream, run.shards, run.perShard)));
  const connector = new ScaledConnector({
    ...options,
    sources: [source],
    // Long sessions: a heartbeat late on a loaded machine must not start a rebalance mid-measurement.
    scaleOut: { units: run.units, sessionTimeoutMs: 30_000, instance: run.instance },
  });
  const running = connector.start();
  await until(() => existsSync(join(run.dir, 'go')));
  const owners = await unitOwners(
    options.kafka,
    connectorGroupId(options.name),
    unitsTopic(options.name, options.topics.checkpoints),
  );
  const units = owners.find(({ instance }) => instance === run.instance)?.units ?? [];
  const mine = Array.from({ length: run.shards }, (_, shard) => `shard-${shard}`).filter((shardId) =>
    units.includes(unitOfShard(source, shardId, run.units)),
  );
  const records = mine.length * run.perShard;
  // Timed from the go, the first reads and round included: several instances' totals then add up.
  const [rebalancesAtGo, cpuAtGo, startedAt] = [await rebalances(), process.cpuUsage(), Date.now()];
  source.open = true;
  await until(async () => (await recordsWritten()) >= records);
  const endedAt = Date.now();
  const cpu = process.cpuUsage(cpuAtGo);
  const rebalancesDuring = (await rebalances()) - rebalancesAtGo;
  writeFileSync(join(run.dir, `${run.instance}.done`), '');
  await until(() => existsSync(join(run.dir, 'stop')));
  await connector.stop();
  await running;
  return {
    instance: run.instance,
    units,
    records,
    startedAt,
    endedAt,
    rate: records / ((endedAt - startedAt) / 1000),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: peakRssMb(),
    rebalancesDuring,
  };
}

const run = JSON.parse(process.argv[2]!) as ScaleOutRun;
// The bench removes the directory when a turn ends, also a failed one: an instance still waiting then leaves.
setInterval(() => existsSync(run.dir) || process.exit(1), 1_000).unref();
const result = await runInstance(run);
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
