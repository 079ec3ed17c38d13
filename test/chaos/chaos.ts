import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, { type Kafka } from 'kafkajs';
import { createOrdersTable } from '../../cli/demo/workload.ts';
import { createDynamoDb } from '../../core/aws.ts';
import { createKafka } from '../../core/kafka.ts';
import { waitForCaughtUp } from '../../core/lag.ts';
import { testAws } from '../harness/connector.ts';
import { uniqueName } from '../harness/endpoints.ts';
import { startKafkaCluster, type KafkaTestCluster } from '../harness/kafka-cluster.ts';
import { runNames, writeRunConfig, type RunNames } from './config.ts';
import { restoreStack } from './outages.ts';
import { faultPlan, type ProcessName } from './plan.ts';
import { ShardlineProcess, type ProcessSpec } from './processes.ts';
import { comparisonFigures, type ChaosReport } from './report.ts';
import { FaultScheduler } from './scheduler.ts';
import { verifyStores } from './verify.ts';
import { ChaosWorkload } from './workload.ts';
import { keepKafkaEvidence } from './evidence.ts';

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
  /** Workload operations per second. */
  rate?: number;
  poisonOrders?: number;
  /** Stop and freeze the stack's registry, OpenSearch and Redis (default); false where others use the stack meanwhile. */
  stackOutages?: boolean;
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

async function processSpecs(work: string): Promise<ProcessSpec[]> {
  // Every process gets an http port of its own; embedded ClickHouse binds a directory to one process:
  // the rollups and the audit process own one each.
  const spec = async (name: ProcessName, args: string[], clickhouse = false): Promise<ProcessSpec> => ({
    name, args, httpPort: await freePort(), clickhousePath: clickhouse ? join(work, `${name}-clickhouse`) : undefined,
  });
  return [
    await spec('connector', ['connector']), await spec('rollups', ['consumer', 'rollups'], true), await spec('audit', ['consumer', 'audit'], true),
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
  const topics = [names.topic, names.checkpoints, names.deadLetter, '__transaction_state', '__consumer_offsets'];
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
 * After the faults: every process running, the connector has written everything (the change topic stops
 * growing while it runs) and every group's lag is 0.
 */
async function waitForQuiet(kafka: Kafka, names: RunNames, processes: ShardlineProcess[]): Promise<void> {
  await waitUntil('every process ready', 180_000, async () => (await Promise.all(processes.map((process) => process.ready()))).every(Boolean));
  const deadline = Date.now() + 300_000;
  const ends = () => retrying(deadline, async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return JSON.stringify(await admin.fetchTopicOffsets(names.topic));
    } finally {
      await admin.disconnect();
    }
  });
  for (;;) {
    const before = await ends();
    await sleep(5_000);
    if (before === (await ends())) {
      await retrying(deadline, () => waitForCaughtUp(kafka, Object.values(names.groups), names.topic, Math.max(1_000, deadline - Date.now())));
      if (before === (await ends())) return;
    }
    if (Date.now() > deadline) throw new Error('the pipeline did not settle within 300 s');
  }
}

/**
 * One chaos run: a three-broker Kafka of its own, the connector and the four groups as `shardline`
 * processes, the orders workload on a fresh table, the seeded fault plan, then a clean catch-up and a
 * comparison of every store with the workload's own record. Leaves the stack's servers running and
 * healthy however it ends.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { seed, minutes, rate = 15, poisonOrders = 4, stackOutages = true, log = (message: string) => console.error(`[chaos ${new Date().toISOString()}] ${message}`) } = options;
  writeFileSync(RUNNING_MARKER, `${process.pid}\n`);
  let cluster: KafkaTestCluster | undefined;
  const processes = new Map<ProcessName, ShardlineProcess>();
  const dynamodb = createDynamoDb(testAws());
  try {
    cluster = await startKafkaCluster({ brokers: BROKERS, basePort: KAFKA_BASE_PORT });
    log(`Kafka cluster up: ${cluster.brokers.join(', ')}`);
    const kafka = createKafka({ brokers: cluster.brokers, clientId: 'chaos' });
    const table = uniqueName('chaos-orders');
    await createOrdersTable(dynamodb, table);
    const names = runNames(uniqueName('chaos'), table);
    const logDir = resolve(options.outDir, 'logs', names.prefix);
    mkdirSync(logDir, { recursive: true });
    const work = mkdtempSync(join(tmpdir(), 'shardline-chaos-'));
    const configPath = writeRunConfig(logDir, names, cluster.brokers);
    for (const spec of await processSpecs(work)) processes.set(spec.name as ProcessName, new ShardlineProcess(spec, configPath, logDir));
    const fleet = [...processes.values()];

    for (const process of fleet) process.start();
    await waitUntil('every process ready', 180_000, async () => (await Promise.all(fleet.map((process) => process.ready()))).every(Boolean));
    log(`processes ready; logs in ${logDir}`);

    const workload = new ChaosWorkload(dynamodb, table, seed);
    workload.start(rate);
    const durationMs = minutes * 60_000;
    const plan = faultPlan({ seed, durationMs, poisonOrders, stackOutages });
    const scheduler = new FaultScheduler({ processes, cluster, kafka, names, workload, log });
    await scheduler.run(plan, performance.now(), durationMs).finally(() => workload.stop());
    log(`faults done; ${workload.changes} changes written; catching up`);

    // One still carrying a fault point would kill itself during the catch-up, with nobody to start it again.
    for (const process of fleet) if (process.armed) await process.kill();
    for (const process of fleet) process.start();
    await waitForQuiet(kafka, names, fleet);
    const topics = await retrying(Date.now() + 60_000, () => topicReplication(kafka, names));
    const cleanStops = await Promise.all(fleet.map(async (process) => [process.name, await process.stop()] as const));
    log('caught up and stopped; comparing stores');

    const verification = await verifyStores({ names, configPath, rollupsPath: processes.get('rollups')!.spec.clickhousePath!, auditPath: processes.get('audit')!.spec.clickhousePath!, kafka, workload });
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
      broker_restarts: scheduler.brokerRestarts,
      outages: scheduler.outages,
      changes: workload.changes,
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
      report.notes.push(`ClickHouse directories kept in ${work}; the change topic as read back and its log segments in ${logDir}`);
      await keepKafkaEvidence(kafka, names, logDir, KAFKA_BASE_PORT).catch((error: unknown) => report.notes.push(`could not keep the Kafka evidence: ${(error as Error).message}`));
    }
    return report;
  } finally {
    await Promise.all([...processes.values()].map((process) => process.kill()));
    dynamodb.destroy();
    // However the run ended: the stack's servers running and answering, the cluster gone, the marker removed.
    await restoreStack().catch((error: unknown) => log(`could not restore the stack: ${(error as Error).message}`));
    await cluster?.stop();
    rmSync(RUNNING_MARKER, { force: true });
  }
}
