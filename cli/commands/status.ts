import type { Admin, Kafka } from 'kafkajs';
import type { PartHealth } from '../../core/health.ts';
import { readToEnd } from '../../core/read-to-end.ts';
import { topicMetadata } from '../../core/topics.ts';
import { runningProcesses, type RunningProcess } from '../../core/run-registry.ts';
import { parseCheckpointKey } from '../../connector/checkpoint-keys.ts';
import { loadCheckpoints } from '../../connector/checkpoints.ts';
import { connectorGroupId, unitsTopic } from '../../connector/scale-out/scaled-connector.ts';
import { unitOwners } from '../../connector/scale-out/unit-assigner.ts';
import { unitOfCheckpoint } from '../../connector/scale-out/units.ts';
import { isDeadLetter } from '../../core/dead-letter.ts';
import { sinkConfigOf, type ShardlineConfig } from '../config/schema.ts';
import { discoveredTopics, kafkaOf, selectedSinks, topicsFor } from '../pipeline.ts';
import { logger } from '../../core/logger.ts';

type PartitionLag = { group: string; topic: string; partition: number; committed: string; end: string; lag: number };
type ShardPosition = { stream: string; shard: string; sequenceNumber: string; finished: boolean };
/** A scaled-out connector's shard: its unit, and the instance the group gave the unit (none while it rebalances). */
type ShardOwner = { unit: number; owner?: string };
type ShardLag = { stream: string; shard: string; iteratorAgeSeconds: number; trimHeadroomSeconds: number };

/** One pipeline: a running process found in the registry, or (when none runs) the configured names. */
export interface PipelineStatus {
  source: 'process' | 'config';
  pid?: number;
  command?: string;
  startedAt?: string;
  http?: string;
  /** What the process's /ready says; undefined when no process answered. */
  ready?: boolean;
  parts: PartHealth[];
  shards: (ShardPosition & Partial<Omit<ShardLag, 'stream' | 'shard'>> & Partial<ShardOwner>)[];
  groups: { group: string; lag: number; partitions: PartitionLag[] }[];
  deadLetters: number;
}

export interface StatusReport {
  /** The configured pipeline's shard positions, lags and dead letters (kept for scripts written against them). */
  shards: ShardPosition[];
  /** From the configured process's metrics, when one answers. */
  shardLag: ShardLag[];
  groups: PartitionLag[];
  deadLetters: number;
  /** Every Shardline process running on this machine (the demo included), else the configured pipeline. */
  pipelines: PipelineStatus[];
}

/** The names a pipeline's parts use, wherever they come from. */
type PipelineNames = Omit<RunningProcess, 'pid' | 'startedAt' | 'command'>;

const configuredNames = (config: ShardlineConfig): PipelineNames => ({
  http: config.http,
  connector: { name: config.connector.name, checkpoints: config.connector.topics.checkpoints },
  groups: selectedSinks(config).map((sink) => sinkConfigOf(config.consumers, sink).groupId),
  topics: topicsFor(config),
  deadLetter: config.connector.topics.deadLetter,
});

/** A gauge's values by `stream|shard` from Prometheus text. */
function shardGauge(metrics: string, name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    const match = new RegExp(`^${name}\\{stream="([^"]*)",shard="([^"]*)"\\} (\\S+)$`).exec(line);
    if (match) values.set(`${match[1]}|${match[2]}`, Number(match[3]));
  }
  return values;
}

/** The parts `/ready` lists, one a line: `group x: ready` or `group x: not ready (why)`. */
export function parseReadiness(body: string): PartHealth[] {
  return body
    .split('\n')
    .slice(1)
    .flatMap((line) => {
      const match = /^(.+?): (ready|not ready)(?: \((.*)\))?$/.exec(line);
      if (!match) return [];
      return [
        match[2] === 'ready'
          ? { part: match[1]!, ready: true }
          : { part: match[1]!, ready: false, ...(match[3] ? { detail: match[3] } : {}) },
      ];
    });
}

const get = (url: string): Promise<{ ok: boolean; body: string } | undefined> =>
  fetch(url, { signal: AbortSignal.timeout(3_000) }).then(
    async (response) => ({ ok: response.ok, body: await response.text() }),
    () => undefined,
  );

/** Dead letters counted record by record: offsets also count transaction markers, so their difference overstates. */
export async function countDeadLetters(kafka: Kafka, topic: string): Promise<number> {
  let count = 0;
  await readToEnd(kafka, topic, 'shardline-status', (_partition, message) => {
    if (isDeadLetter(message)) count++;
  });
  return count;
}

async function groupLags(admin: Admin, groups: string[], topics: string[]): Promise<PipelineStatus['groups']> {
  const ends = new Map<string, Awaited<ReturnType<Admin['fetchTopicOffsets']>>>();
  for (const topic of topics) ends.set(topic, await admin.fetchTopicOffsets(topic));
  const result: PipelineStatus['groups'] = [];
  for (const group of groups) {
    const partitions: PartitionLag[] = [];
    for (const [topic, topicEnds] of ends) {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      for (const end of topicEnds) {
        const at = committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1';
        const from = Number(at) < 0 ? Number(end.low) : Number(at);
        partitions.push({
          group,
          topic,
          partition: end.partition,
          committed: at,
          end: end.offset,
          lag: Math.max(0, Number(end.offset) - from),
        });
      }
    }
    result.push({ group, lag: partitions.reduce((sum, partition) => sum + partition.lag, 0), partitions });
  }
  return result;
}

/** Which unit and instance read a shard, when the connector is scaled out (its units topic exists). */
async function shardOwners(
  kafka: Kafka,
  admin: Admin,
  existing: Set<string>,
  connector: { name: string; checkpoints: string },
): Promise<((stream: string, shard: string) => ShardOwner) | undefined> {
  const topic = unitsTopic(connector.name, connector.checkpoints);
  if (!existing.has(topic)) return undefined;
  const [metadata] = await topicMetadata(admin, [topic]);
  const units = metadata?.partitions.length ?? 0;
  const owners = new Map(
    (await unitOwners(kafka, connectorGroupId(connector.name), topic)).flatMap(({ instance, units: owned }) =>
      owned.map((unit) => [unit, instance] as const),
    ),
  );
  return (stream, shard) => {
    const unit = unitOfCheckpoint(stream, shard, units);
    const owner = owners.get(unit);
    return owner === undefined ? { unit } : { unit, owner };
  };
}

async function pipelineStatus(
  kafka: Kafka,
  admin: Admin,
  existing: Set<string>,
  names: PipelineNames,
  discovered: string[],
): Promise<Omit<PipelineStatus, 'source'>> {
  const { connector, http } = names;
  const checkpoints =
    connector && existing.has(connector.checkpoints)
      ? await loadCheckpoints(kafka, connector.checkpoints, connector.name)
      : new Map();
  const metrics = http ? ((await get(`http://${http.host}:${http.port}/metrics`))?.body ?? '') : '';
  const readiness = http ? await get(`http://${http.host}:${http.port}/ready`) : undefined;
  const ages = shardGauge(metrics, 'shardline_connector_iterator_age_seconds');
  const headroom = shardGauge(metrics, 'shardline_connector_trim_headroom_seconds');
  const ownerOf = connector ? await shardOwners(kafka, admin, existing, connector) : undefined;
  const shards = [...checkpoints].map(([key, checkpoint]) => {
    // loadCheckpoints keeps only keys that parse.
    const { stream, shard } = parseCheckpointKey(key)!;
    const live = ages.has(`${stream}|${shard}`)
      ? {
          iteratorAgeSeconds: ages.get(`${stream}|${shard}`)!,
          trimHeadroomSeconds: headroom.get(`${stream}|${shard}`) ?? 0,
        }
      : {};
    return {
      stream,
      shard,
      sequenceNumber: checkpoint.sequenceNumber ?? '',
      finished: checkpoint.finished,
      ...live,
      ...ownerOf?.(stream, shard),
    };
  });
  return {
    http: http ? `${http.host}:${http.port}` : undefined,
    ready: readiness?.ok,
    parts: readiness ? parseReadiness(readiness.body) : [],
    shards,
    groups: await groupLags(
      admin,
      names.groups,
      [...new Set([...names.topics, ...discovered])].filter((topic) => existing.has(topic)),
    ),
    deadLetters: existing.has(names.deadLetter) ? await countDeadLetters(kafka, names.deadLetter) : 0,
  };
}

/**
 * What runs on this machine: per running Shardline process (found in the process registry) its shards
 * with iterator age and trim headroom, each group's lag, its dead letters and the readiness of each part.
 * The configured pipeline's figures stay at the top level.
 */
export async function status(
  config: ShardlineConfig,
  processes: RunningProcess[] = runningProcesses(),
): Promise<StatusReport> {
  const kafka = kafkaOf(config, 'status');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    // Tables by discovery: their topics, as the rules match the tables now, count like the configured ones.
    const discovered = await discoveredTopics(config).catch((error: unknown) => {
      logger.warn({ err: error }, "cannot list the tables for the discovery rules: their groups' lag is left out");
      return [];
    });
    const pipelines: PipelineStatus[] = [];
    for (const running of processes) {
      pipelines.push({
        source: 'process',
        pid: running.pid,
        command: running.command,
        startedAt: running.startedAt,
        ...(await pipelineStatus(kafka, admin, existing, running, discovered)),
      });
    }
    const names = configuredNames(config);
    const sameNames = (running: RunningProcess) =>
      running.connector?.name === names.connector?.name &&
      running.deadLetter === names.deadLetter &&
      JSON.stringify([...running.groups].sort()) === JSON.stringify([...names.groups].sort());
    const sameAsConfigured = pipelines.find((_pipeline, index) => sameNames(processes[index]!));
    const configured = sameAsConfigured ?? {
      source: 'config' as const,
      ...(await pipelineStatus(kafka, admin, existing, names, discovered)),
    };
    if (pipelines.length === 0) pipelines.push(configured);
    return {
      shards: configured.shards.map(({ stream, shard, sequenceNumber, finished }) => ({
        stream,
        shard,
        sequenceNumber,
        finished,
      })),
      shardLag: configured.shards.flatMap(({ stream, shard, iteratorAgeSeconds, trimHeadroomSeconds }) =>
        iteratorAgeSeconds === undefined
          ? []
          : [{ stream, shard, iteratorAgeSeconds, trimHeadroomSeconds: trimHeadroomSeconds ?? 0 }],
      ),
      groups: configured.groups.flatMap((group) => group.partitions),
      deadLetters: configured.deadLetters,
      pipelines,
    };
  } finally {
    await admin.disconnect();
  }
}
