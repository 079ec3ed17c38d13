import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectorGroupId, unitsTopic } from '../connector/scale-out/scaled-connector.ts';
import { unitOwners } from '../connector/scale-out/unit-assigner.ts';
import { unitOfShard } from '../connector/scale-out/units.ts';
import { createKafka } from '../core/kafka.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import { baseConnectorOptions } from '../test/harness/connector.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import { meanRecordBytes } from './connector.bench.ts';
import type { ScaleOutRun, ScaleOutTurnResult } from './connector-scale-out-process.ts';
import { busyPercent, comparison, cpuTimes, median, resultOfChild, round, type BenchResult } from './measure.ts';
import { recordedSource, recordedStream, recordedStreamArn } from './recorded-stream.ts';

const TURNS = 3;
const INSTANCES = [1, 2, 3];
/** Six units: each of 1, 2 or 3 instances gets the same number of them. */
const UNITS = 6;
/** Twelve shards, two per unit (see balancedStream), 10,000 changes each. */
const SHARDS = 12;
const PER_SHARD = 10_000;
const RECORDS = SHARDS * PER_SHARD;
/**
 * The connector row's young-generation flag, without its old-generation cap: an instance holds a round per
 * unit, and under the 192 MiB cap one instance of 6 units spent 13.1–13.7 CPU s per turn and wrote
 * 11,300–12,100 events/s, against 3.8–4.6 CPU s and 27,000–32,000/s uncapped (peak RSS 470–766 MiB).
 */
const INSTANCE_FLAGS = ['--max-semi-space-size=8'];

/** A scale-out row: the total as `rate`, and what each instance did. */
export interface ScaleOutResult extends BenchResult {
  instances: number;
  /** Each instance's own rate (its records over its own time), in the median turn. */
  instance_rates: number[];
  /** CPU seconds (user + system) each instance used for its share, in the median turn. */
  cpu_s_per_instance: number[];
  /** The instances' CPU per 1,000 events, median over the turns: the figure that says what more cores would give. */
  cpu_ms_per_1000_events: number;
  /** How busy the machine's cores were while the median turn ran (every process, the stack's servers included). */
  machine_busy_percent: number;
  /** 1-minute load average at the start of each turn. */
  load_averages: number[];
}

/**
 * The recorded stream's name for this run, chosen so that its shards hash two to a unit (the unit of a
 * shard comes from its stream's ARN and its id): the bench measures what more instances give, not how
 * evenly CRC-32C spreads twelve shards (with thousands of shards the spread evens out by itself).
 */
function balancedStream(run: string): string {
  for (let attempt = 0; ; attempt++) {
    const stream = `${run}-scale-out-${attempt}`;
    const perUnit = new Array<number>(UNITS).fill(0);
    for (let shard = 0; shard < SHARDS; shard++)
      perUnit[
        unitOfShard({ kind: 'DYNAMODB_STREAMS', streamId: recordedStreamArn(stream) }, `shard-${shard}`, UNITS)
      ]!++;
    if (perUnit.every((count) => count === SHARDS / UNITS)) return stream;
  }
}

async function waitFor(what: string, timeoutMs: number, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`scale-out bench: ${what} not within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

interface Turn {
  instances: ScaleOutTurnResult[];
  total: number;
  recordBytes: number;
  busyPercent: number;
  load: number;
}

/**
 * One turn: `count` instances, each a process of its own with the connector's heap flags, join one group
 * on a fresh connector name with their reads held; once the group is stable with every unit given out, the
 * reads are let go at once and each instance writes its units' records. The total is every record over
 * the time from the go to the last instance's last record (the first reads and rounds included).
 */
async function turn(endpoints: Endpoints, prefix: string, stream: string, count: number): Promise<Turn> {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-bench-scale-out-'));
  try {
    const load = loadavg()[0]!;
    // Registers the turn topic's schema before the instances write: instances registering one new subject at
    // the same moment can be refused (409 on its compatibility rule) and stop; see
    // test/integration/connector/scale-out-schema-registration.test.ts.
    const recordBytes = await meanRecordBytes(
      recordedSource(recordedStream(stream, SHARDS, PER_SHARD)),
      new ChangeEventCodec({ url: endpoints.registryUrl }),
      baseConnectorOptions(prefix).topics.template,
    );
    const script = fileURLToPath(new URL('./connector-scale-out-process.ts', import.meta.url));
    const children = Array.from({ length: count }, (_, index) =>
      resultOfChild<ScaleOutTurnResult>(script, INSTANCE_FLAGS, {
        prefix,
        stream,
        shards: SHARDS,
        perShard: PER_SHARD,
        units: UNITS,
        instance: `instance-${index + 1}`,
        dir,
      } satisfies ScaleOutRun),
    );
    // A child that fails ends the wait below at once.
    const failed = Promise.all(children).then(() => undefined);
    const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix });
    const { name, topics } = baseConnectorOptions(prefix);
    const stable = async () => {
      const owners = await unitOwners(kafka, connectorGroupId(name), unitsTopic(name, topics.checkpoints)).catch(
        () => [],
      );
      return owners.length === count && owners.flatMap(({ units }) => units).length === UNITS;
    };
    await Promise.race([waitFor('every instance in the group', 180_000, stable), failed]);
    // Time for the last assignment's units to fence and load their (empty) checkpoints.
    await sleep(3_000);
    await waitFor('the group still stable', 60_000, stable);
    const before = cpuTimes();
    writeFileSync(join(dir, 'go'), '');
    const done = () =>
      Array.from({ length: count }, (_, index) => join(dir, `instance-${index + 1}.done`)).every(existsSync);
    await Promise.race([waitFor('every instance done', 600_000, done), failed]);
    const after = cpuTimes();
    writeFileSync(join(dir, 'stop'), '');
    const instances = await Promise.all(children);
    const rebalanced = instances.filter(({ rebalancesDuring }) => rebalancesDuring > 0);
    if (rebalanced.length > 0)
      throw new Error(
        `scale-out bench: rebalances during the measurement in ${rebalanced.map(({ instance }) => instance).join(', ')}`,
      );
    const started = Math.min(...instances.map(({ startedAt }) => startedAt));
    const ended = Math.max(...instances.map(({ endedAt }) => endedAt));
    return {
      instances,
      total: RECORDS / ((ended - started) / 1000),
      recordBytes,
      busyPercent: busyPercent(before, after),
      load,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The connector scaled out over 1, 2 and 3 instances on one recorded stream of 12 shards (6 units, so each
 * count of instances gets an even share), turns alternating between the counts so the machine's load
 * falls on each alike; each row the median of TURNS turns, against the 1-instance total of the same run.
 */
export async function benchConnectorScaleOut(endpoints: Endpoints, run: string): Promise<ScaleOutResult[]> {
  const stream = balancedStream(run);
  const turns = new Map<number, Turn[]>(INSTANCES.map((count) => [count, []]));
  for (let index = 0; index < TURNS; index++) {
    for (const count of INSTANCES) {
      const measured = await turn(endpoints, `bench-${run}-scale-out-${count}-${index}`, stream, count);
      turns.get(count)!.push(measured);
      console.log(
        `connector scale-out, ${count} instance(s), turn ${index}: ${Math.round(measured.total)} events/s in all (load ${measured.load.toFixed(1)}, cores ${Math.round(measured.busyPercent)}% busy); ${measured.instances.map((instance) => `${instance.instance} units [${instance.units.join(',')}] ${Math.round(instance.rate)}/s, ${instance.cpuSeconds.toFixed(1)} CPU s, ${instance.peakRssMb} MiB`).join('; ')}`,
      );
    }
  }
  const admin = createKafka({ brokers: endpoints.kafkaBrokers, clientId: `bench-${run}` }).admin();
  await admin.connect();
  await admin.deleteTopics({
    topics: (await admin.listTopics()).filter((topic) => topic.startsWith(`bench-${run}-scale-out-`)),
  });
  await admin.disconnect();

  const baseline = median(turns.get(1)!.map(({ total }) => total));
  return INSTANCES.map((count) => {
    const measured = turns.get(count)!;
    const total = median(measured.map(({ total }) => total));
    const middle = measured.find((candidate) => candidate.total === total)!;
    const cpuPer1000 = median(
      measured.map(
        ({ instances }) => (1000 * instances.reduce((sum, { cpuSeconds }) => sum + cpuSeconds, 0) * 1000) / RECORDS,
      ),
    );
    return {
      ...comparison(
        `connector scale-out: ${count} instance${count === 1 ? '' : 's'}, ${SHARDS} recorded shards in ${UNITS} units, ${RECORDS} changes (${measured[0]!.recordBytes}-byte records) -> Avro -> transactions with checkpoints, each instance a process (node ${INSTANCE_FLAGS.join(' ')}); rate is the total (vs the 1-instance total of the same run)`,
        total,
        baseline,
        median(measured.map(({ instances }) => Math.max(...instances.map(({ peakRssMb }) => peakRssMb)))),
      ),
      instances: count,
      instance_rates: middle.instances.map(({ rate }) => round(rate, 0)),
      cpu_s_per_instance: middle.instances.map(({ cpuSeconds }) => round(cpuSeconds, 1)),
      cpu_ms_per_1000_events: round(cpuPer1000, 1),
      machine_busy_percent: round(middle.busyPercent, 0),
      load_averages: measured.map(({ load }) => round(load, 1)),
    };
  });
}
