import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, { type Kafka } from 'kafkajs';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { createOrdersTable } from '../../cli/demo/workload.ts';
import { loadCheckpoints } from '../../connector/checkpoints.ts';
import { streamArnOf } from '../../connector/dynamodb/table.ts';
import { createDynamoDb, createDynamoDbStreams, createKinesis } from '../../core/aws.ts';
import { createKafka } from '../../core/kafka.ts';
import { waitForCaughtUp } from '../../core/lag.ts';
import { testAws } from '../harness/connector.ts';
import { testEndpoints, uniqueName } from '../harness/endpoints.ts';
import { startKafkaCluster, type KafkaTestCluster } from '../harness/kafka-cluster.ts';
import { changeTopics, runNames, writeRunConfig, type RunNames } from './config.ts';
import { KinesisWorkload } from './kinesis-workload.ts';
import { TrimmingProxy } from './trimming-proxy.ts';
import { restoreStack } from './outages.ts';
import { connectorNames, faultPlan, isConnector, type ProcessName } from './plan.ts';
import { ShardlineProcess, type ProcessSpec } from './processes.ts';
import { comparisonFigures, type ChaosReport } from './report.ts';
import { FaultScheduler } from './scheduler.ts';
import { verifyStores } from './verify.ts';
import { ChaosWorkload } from './workload.ts';
import { keepKafkaEvidence } from './evidence.ts';
import { resendsRefused } from './change-copies.ts';
import { shardsBehind, streamEnds, type ShardEnd } from './connector-caught-up.ts';
import { rebalanceFigures, SCALE_OUT, SCALED_KINESIS_SHARDS } from './scale-out.ts';

const { ConfigResourceTypes } = kafkajs;

/** The other engineer's tests check this file before they use the shared stack. */
export const RUNNING_MARKER = '/tmp/chaos-running';
const BROKERS = 3;
/** Ports 19092–19097: the stack's own Kafka on 9092 is never touched. */
const KAFKA_BASE_PORT = 19092;

export interface ChaosOptions {
  seed: number;
  minutes: number;
  /** Where logs/ and report.json go. */
  outDir: string;
  /** Operations per second on the Streams table; the Kinesis table gets half as many (plus their bursts). */
  rate?: number;
  poisonOrders?: number;
  /**
   * Stop and freeze the stack's registry, OpenSearch and Redis (default), and restore them at the end;
   * false where others use the stack meanwhile: then the run never touches them.
   */
  stackOutages?: boolean;
  /**
   * Connector instances: 1 (default) runs one `shardline connector`; more run that many with
   * `connector.scaleOut` and one name, killed, added and removed by the plan.
   */
  connectors?: number;
  log?: (message: string) => void;
}

/** A port nothing listens on now (fixed ports collided with other programs on a shared machine). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function processSpecs(work: string, connectors: number): Promise<ProcessSpec[]> {
  // Every process gets an http port of its own; embedded ClickHouse binds a directory to one process:
  // the rollups and the audit process own one each.
  const spec = async (name: ProcessName, args: string[], clickhouse = false, env?: Record<string, string>): Promise<ProcessSpec> => ({
    name, args, httpPort: await freePort(), clickhousePath: clickhouse ? join(work, `${name}-clickhouse`) : undefined, env,
  });
  // Scaled-out instances log at info: their group joins and rebalance pauses are the report's rebalance figures.
  const connectorEnv = connectors > 1 ? { SHARDLINE_LOG_LEVEL: 'info' } : undefined;
  const connectorSpecs = await Promise.all(connectorNames(connectors).map((name) => spec(name, ['connector'], false, connectorEnv)));
  return [
    ...connectorSpecs, await spec('rollups', ['consumer', 'rollups'], true), await spec('audit', ['consumer', 'audit'], true),
    await spec('search', ['consumer', 'search']), await spec('cache', ['consumer', 'cache']),
  ];
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/** Replica count and min.insync.replicas of every topic the run writes, the internal ones included. */
async function topicReplication(kafka: Kafka, names: RunNames): Promise<ChaosReport['topics']> {
  const topics = [...changeTopics(names), names.checkpoints, names.deadLetter, '__transaction_state', '__consumer_offsets'];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics });
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['min.insync.replicas'] })) });
    return Object.fromEntries(topics.map((name) => {
      const partitions = metadata.topics.find((topic) => topic.name === name)?.partitions ?? [];
      const minIsr = configs.resources.find((resource) => resource.resourceName === name)?.configEntries[0]?.configValue ?? '?';
      return [name, { replicas: Math.min(...partitions.map((partition) => partition.replicas.length)), min_insync_replicas: minIsr }];
    }));
  } finally {
    await admin.disconnect();
  }
}

/** Calls `call` until it succeeds or the deadline passes: just after a broker restart, metadata can be stale for a while. */
async function retrying<T>(deadline: number, call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(1_000);
    }
  }
}

/**
 * After the faults: every process running, the connector has written everything (a checkpoint at every shard's
 * `newest` record, the change topics stop growing while it runs, and every re-snapshot run begun has its closing
 * sweep committed: scaled out, the unit that met a gap and the unit that scans the table may differ, and the
 * second finds the run only at its next discovery) and every group's lag is 0 on both.
 */
async function waitForQuiet(kafka: Kafka, names: RunNames, processes: ShardlineProcess[], newest: ShardEnd[]): Promise<void> {
  await waitUntil('every process ready', 180_000, async () => (await Promise.all(processes.map((process) => process.ready()))).every(Boolean));
  const deadline = Date.now() + 300_000;
  const ends = () => retrying(deadline, async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return JSON.stringify(await Promise.all(changeTopics(names).map((topic) => admin.fetchTopicOffsets(topic))));
    } finally {
      await admin.disconnect();
    }
  });
  let behind: string[] = [];
  for (;;) {
    const before = await ends();
    await sleep(5_000);
    const runs = await retrying(deadline, () => resnapshotRuns(kafka, names));
    behind = await retrying(deadline, () => shardsBehind(kafka, names.checkpoints, `${names.prefix}-connector`, newest));
    if (before === (await ends()) && runs.finished === runs.begun && behind.length === 0) {
      for (const topic of changeTopics(names)) await retrying(deadline, () => waitForCaughtUp(kafka, Object.values(names.groups), topic, Math.max(1_000, deadline - Date.now())));
      if (before === (await ends())) return;
    }
    if (Date.now() > deadline) throw new Error(`the pipeline did not settle within 300 s${behind.length > 0 ? `; the connector is behind on ${behind.join('; ')}` : ''}`);
  }
}

/** A Kinesis stream of `shards` shards, once it is active. */
async function createKinesisStream(kinesis: KinesisClient, name: string, shards: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  await waitUntil(`Kinesis stream ${name} active`, 30_000, async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE');
}

/**
 * Re-snapshot runs of the table the connector began (their first segment's checkpoint committed) and those
 * whose closing sweep it committed: gaps covered to their end.
 */
async function resnapshotRuns(kafka: Kafka, names: RunNames): Promise<{ begun: number; finished: number }> {
  const checkpoints = [...(await loadCheckpoints(kafka, names.checkpoints, `${names.prefix}-connector`))];
  const run = `\\|snapshot:${names.streams.table}:resnapshot-\\d+\\|`;
  return {
    begun: checkpoints.filter(([key]) => new RegExp(`${run}segment-0$`).test(key)).length,
    finished: checkpoints.filter(([key, checkpoint]) => new RegExp(`${run}sweep$`).test(key) && checkpoint.finished).length,
  };
}

/**
 * One chaos run: a three-broker Kafka of its own, the connector and the four groups as `shardline`
 * processes, two fresh tables (one read through DynamoDB Streams, one through Kinesis Data Streams for
 * DynamoDB) written at once, the seeded fault plan, then a clean catch-up and a comparison of every store
 * with the workloads' own records. The connector reaches AWS through a proxy that trims the Streams table's
 * stream for the plan's gaps. With stack outages, it leaves the stack's servers running and healthy however it ends.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { seed, minutes, rate = 15, poisonOrders = 4, stackOutages = true, connectors = 1, log = (message: string) => console.error(`[chaos ${new Date().toISOString()}] ${message}`) } = options;
  const scaledOut = connectors > 1;
  const kinesisShards = scaledOut ? SCALED_KINESIS_SHARDS : 2;
  writeFileSync(RUNNING_MARKER, `${process.pid}\n`);
  let cluster: KafkaTestCluster | undefined;
  const processes = new Map<ProcessName, ShardlineProcess>();
  const dynamodb = createDynamoDb(testAws());
  const kinesisClient = createKinesis(testAws());
  const streams = createDynamoDbStreams(testAws());
  const proxy = new TrimmingProxy(new URL(testEndpoints().awsEndpoint), streams);
  try {
    cluster = await startKafkaCluster({ brokers: BROKERS, basePort: KAFKA_BASE_PORT });
    log(`Kafka cluster up: ${cluster.brokers.join(', ')}`);
    const kafka = createKafka({ brokers: cluster.brokers, clientId: 'chaos' });
    const names = runNames(uniqueName('chaos'), uniqueName('chaos-orders'), uniqueName('chaos-kds-orders'));
    await createOrdersTable(dynamodb, names.streams.table);
    await createOrdersTable(dynamodb, names.kinesis.table);
    await createKinesisStream(kinesisClient, names.kinesis.stream, kinesisShards);
    const streamArn = await streamArnOf(dynamodb, names.streams.table);
    await proxy.start();
    const logDir = resolve(options.outDir, 'logs', names.prefix);
    mkdirSync(logDir, { recursive: true });
    const work = mkdtempSync(join(tmpdir(), 'shardline-chaos-'));
    const configPath = writeRunConfig(logDir, names, cluster.brokers, proxy.url, scaledOut ? SCALE_OUT : undefined);
    for (const spec of await processSpecs(work, connectors)) processes.set(spec.name as ProcessName, new ShardlineProcess(spec, configPath, logDir));
    const fleet = [...processes.values()];
    // Scaled out, the last instance is a spare the plan adds later.
    const spare: ProcessName[] = scaledOut ? [connectorNames(connectors).at(-1)!] : [];
    const started = fleet.filter((process) => !spare.includes(process.name as ProcessName));

    for (const process of started) process.start();
    await waitUntil('every process ready', 180_000, async () => (await Promise.all(started.map((process) => process.ready()))).every(Boolean));
    log(`processes ready; logs in ${logDir}`);

    const workload = new ChaosWorkload(dynamodb, names.streams.table, seed);
    const kinesis = new KinesisWorkload(dynamodb, kinesisClient, names.kinesis.table, names.kinesis.stream, seed + 1);
    workload.start(rate);
    kinesis.start(rate / 2);
    const durationMs = minutes * 60_000;
    const plan = faultPlan({ seed, durationMs, poisonOrders, stackOutages, connectors });
    const scheduler = new FaultScheduler({ processes, cluster, kafka, names, workload, kinesis, proxy, streamArn, parked: spare, log });
    // Both workloads stop however the faults end; a write whose outcome is unknown fails the run.
    const faults = await Promise.allSettled([scheduler.run(plan, performance.now(), durationMs)]);
    const writes = await Promise.allSettled([workload.stop(), kinesis.stop()]);
    for (const result of [...faults, ...writes]) if (result.status === 'rejected') throw result.reason;
    log(`faults done; ${workload.changes} + ${kinesis.changes} changes written; catching up`);

    // One still carrying a fault point would kill itself during the catch-up, with nobody to start it again.
    for (const process of fleet) if (process.armed) await process.kill();
    // Connector instances the plan removed last stay down: the others catch up without them.
    const catchingUp = fleet.filter((process) => !scheduler.parked.has(process.name as ProcessName));
    for (const process of catchingUp) process.start();
    await waitForQuiet(kafka, names, catchingUp, await streamEnds(proxy, streamArn, kinesisClient, names.kinesis.stream));
    const topics = await retrying(Date.now() + 60_000, () => topicReplication(kafka, names));
    const cleanStops = await Promise.all(catchingUp.map(async (process) => [process.name, await process.stop()] as const));
    log('caught up and stopped; comparing stores');

    const trimmedKeys = await proxy.trimmedKeys();
    const verification = await verifyStores({ names, configPath, rollupsPath: processes.get('rollups')!.spec.clickhousePath!, auditPath: processes.get('audit')!.spec.clickhousePath!, kafka, workload, kinesis, trimmedKeys });
    const figures = comparisonFigures(verification);
    const selfKills = fleet.reduce((sum, process) => sum + process.selfKills, 0);
    const report: ChaosReport = {
      seed, minutes, brokers: BROKERS,
      kills: {
        total: scheduler.scheduledKills + selfKills,
        scheduled: scheduler.scheduledKills,
        at_fault_point: selfKills,
        by_process: Object.fromEntries(fleet.map((process) => [process.name, process.starts - 1])),
      },
      ...(scaledOut && {
        scale_out: {
          instances: connectors,
          units: SCALE_OUT.units,
          kinesis_shards: kinesisShards,
          instances_at_the_end: catchingUp.filter((process) => isConnector(process.name)).length,
          connector_kills: scheduler.connectorKills,
          ...scheduler.scaling,
          ...rebalanceFigures(fleet.filter((process) => isConnector(process.name)).map((process) => process.logPath)),
        },
      }),
      broker_restarts: scheduler.brokerRestarts,
      outages: scheduler.outages,
      changes: workload.changes + kinesis.changes,
      changes_by_table: { streams: workload.changes, kinesis: kinesis.changes },
      kinesis_delivery: kinesis.delivery,
      gaps: scheduler.gaps,
      gaps_resnapshotted: (await retrying(Date.now() + 60_000, () => resnapshotRuns(kafka, names))).finished,
      gap_detections: {
        at_checkpoint: proxy.trimmed.filter((range) => range.met === 'GetShardIterator').length,
        with_iterator: proxy.trimmed.filter((range) => range.met === 'GetRecords').length,
      },
      trimmed_changes: trimmedKeys.length,
      resends_refused: resendsRefused(fleet.filter((process) => isConnector(process.name)).map((process) => process.logPath)),
      lost: figures.lost,
      doubled: figures.doubled,
      wrong: figures.wrong,
      dead_letters_expected: figures.dead_letters_expected,
      dead_letters: figures.dead_letters,
      max_recovery_s: Math.round(Math.max(0, ...Object.values(scheduler.longestRecoveryMs)) / 100) / 10,
      passed: figures.passed,
      compared: figures.compared,
      first_differences: figures.first_differences,
      longest_recovery_s: Object.fromEntries(Object.entries(scheduler.longestRecoveryMs).map(([what, ms]) => [what, Math.round(ms / 100) / 10])),
      topics,
      unexpected_exits: fleet.flatMap((process) => process.unexpectedExits),
      notes: [
        ...scheduler.notes,
        ...cleanStops.filter(([, clean]) => !clean).map(([name]) => `${name} did not stop cleanly with exit 0 on SIGTERM`),
        'by_process counts restarts (scheduled kills, self-kills at a fault point and unexpected exits)',
        ...(stackOutages ? [] : ['run without outages of the stack\'s registry, OpenSearch and Redis (--without-stack-outages)']),
      ],
      logs: logDir,
    };
    if (report.passed) rmSync(work, { recursive: true, force: true });
    else {
      report.notes.push(`ClickHouse directories kept in ${work}; the change topics as read back and their log segments in ${logDir}`);
      try {
        keepKafkaEvidence(verification.committedEvents, names, logDir, KAFKA_BASE_PORT);
      } catch (error) {
        report.notes.push(`could not keep the Kafka evidence: ${(error as Error).message}`);
      }
    }
    return report;
  } finally {
    await Promise.all([...processes.values()].map((process) => process.kill()));
    await proxy.stop();
    dynamodb.destroy();
    kinesisClient.destroy();
    streams.destroy();
    // With stack outages, however the run ended: the stack's servers running and answering. Without, they
    // were never touched and are left alone (others use them; this process may not even see their pid files).
    if (stackOutages) await restoreStack().catch((error: unknown) => log(`could not restore the stack: ${(error as Error).message}`));
    await cluster?.stop();
    rmSync(RUNNING_MARKER, { force: true });
  }
}
