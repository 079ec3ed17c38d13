import type { ClickHouseClient } from '@clickhouse/client';
import { resolve } from 'node:path';
import type { Kafka } from 'kafkajs';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDb, createDynamoDbStreams, createKinesis, type AwsConnection } from '../core/aws.ts';
import { createKafka } from '../core/kafka.ts';
import { withRetries } from '../core/backoff.ts';
import { classifyError, ConfigurationError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { processHoldingClickHouse } from '../core/run-registry.ts';
import { ensureTopics } from '../core/topics.ts';
import { Connector, type ConnectorOptions } from '../connector/connector.ts';
import { ScaledConnector } from '../connector/scale-out/scaled-connector.ts';
import { DynamoDbStreamSource } from '../connector/dynamodb/streams-source.ts';
import { streamArnOf } from '../connector/dynamodb/table.ts';
import { checkEntityRule } from '../connector/events/entity.ts';
import { topicFor } from '../connector/events/routing.ts';
import { KinesisSource } from '../connector/kinesis/kinesis-source.ts';
import type { ShardSource } from '../connector/shards/source.ts';
import { SnapshotSource } from '../connector/snapshot/snapshot-source.ts';
import { connectClickHouse } from '../consumers/clickhouse/client.ts';
import { ConsumerGroup } from '../consumers/runtime/group.ts';
import type { Sink } from '../consumers/runtime/sink.ts';
import type { SinkContext, SinkDefinition } from '../consumers/runtime/sink-definition.ts';
import { search as searchDefinition, searchSink } from '../consumers/search/index.ts';
import { ChangeEventCodec } from '../schemas/registry.ts';
import { DiscoveringConnector } from '../connector/discovery/discovering-connector.ts';
import { LeftRun } from '../connector/discovery/left-run.ts';
import { PeriodicDiscovery } from '../connector/discovery/periodic.ts';
import { resolveRules } from '../connector/discovery/rules.ts';
import { listTables } from '../connector/discovery/table-listing.ts';
import { TableDiscovery, TableNotReady } from '../connector/discovery/table-discovery.ts';
import { isResourceNotFound } from '../connector/shards/errors.ts';
import type { Logger } from '../core/logger.ts';
import { TopicWatch, type PipelineGroup } from './topic-watch.ts';
import type { EntityView } from '../schemas/views.ts';
import {
  batchSizeOf,
  sinkConfigOf,
  type DiscoveryRule,
  type ShardlineConfig,
  type TableSettings,
} from './config/schema.ts';
import { CliError, EXIT } from './context.ts';
import { SINKS } from './sinks.ts';

/** Turns a validated config into connectors and consumer groups: the one place the parts are wired. */

/** The connector a process runs: one instance, scaled out, or either with tables by discovery. */
export type PipelineConnector = Connector | ScaledConnector | DiscoveringConnector;

export const awsOf = (config: ShardlineConfig): AwsConnection => ({
  region: config.aws.region,
  endpoint: config.aws.endpoint,
  credentials: config.aws.credentials,
});

export const kafkaOf = (config: ShardlineConfig, role: string): Kafka =>
  createKafka({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-${role}`,
    ssl: config.kafka.ssl,
    sasl: config.kafka.sasl as never,
  });

export const codecOf = (config: ShardlineConfig): ChangeEventCodec =>
  new ChangeEventCodec(
    { url: config.registry.url, username: config.registry.username, password: config.registry.password },
    config.registry.compatibility,
  );

/** At start: the table's key schema must fit its entity rule (a key-prefix attribute that is a string key). */
async function checkTableKeys(dynamodb: DynamoDBClient, table: TableSettings): Promise<void> {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table.name }));
  checkEntityRule(table.name, table.entity, Table ?? {}, `connector.tables[${table.index}].entity`);
}

/** A table a discovery rule matched, with the rule's settings. */
const discoveredTable = ({ match: _match, tag: _tag, ...settings }: DiscoveryRule, name: string): TableSettings => ({
  ...settings,
  name,
});

/** The change topics of one table's entities (all of them when `entities` is undefined). */
const topicsOfTable = (config: ShardlineConfig, table: TableSettings, entities?: string[]): string[] =>
  table.entities
    .filter((entity) => !entities || entities.includes(entity))
    .map((entity) => topicFor(config.connector.topics.template, { table: table.name, entity }));

/**
 * The tables a process knows: the configured ones, and those discovery found since it started. Consumer
 * groups take their topics from it, and sinks the table of a topic.
 */
export class KnownTables {
  private readonly byName = new Map<string, TableSettings>();
  /** Asked once per batch by the cache sink: kept, not derived each time. */
  private readonly tableByTopic = new Map<string, string>();

  constructor(private readonly config: ShardlineConfig) {
    for (const table of config.connector.tables) this.add(table);
  }

  add(table: TableSettings): void {
    this.byName.set(table.name, table);
    // A topic tables share (a template without {table}) stays the first one's: its progress key with it.
    for (const topic of topicsOfTable(this.config, table))
      if (!this.tableByTopic.has(topic)) this.tableByTopic.set(topic, table.name);
  }

  get(name: string): TableSettings | undefined {
    return this.byName.get(name);
  }

  /** The topics holding changes of the given entities (all entities when undefined), sorted. */
  topics(entities?: string[]): string[] {
    return [
      ...new Set([...this.byName.values()].flatMap((table) => topicsOfTable(this.config, table, entities))),
    ].sort();
  }

  /** The table a change topic carries (the topic itself when no known table writes it). */
  tableOf(topic: string): string {
    return this.tableByTopic.get(topic) ?? topic;
  }
}

/**
 * Tables by discovery (connector.tables entries with `match` or `tag`): each round lists the tables, and
 * `start` is called for every table a rule newly matches. Undefined when the config has no rule.
 */
export function tableDiscoveryOf(
  config: ShardlineConfig,
  start: (table: TableSettings) => Promise<void>,
  log: Logger,
  afterRound: () => void = () => undefined,
): { runner: PeriodicDiscovery; tables: TableDiscovery<DiscoveryRule> } | undefined {
  const { rules, intervalMs } = config.connector.discovery;
  if (rules.length === 0) return undefined;
  const tables = new TableDiscovery({
    dynamodb: createDynamoDb(awsOf(config)),
    rules,
    named: new Set(config.connector.tables.map((table) => table.name)),
    start: (name, rule) => start(discoveredTable(rule, name)),
    logger: log,
  });
  const runner = new PeriodicDiscovery({
    intervalMs,
    backoff: { ...config.connector.backoff, attempts: Infinity },
    logger: log,
    round: async () => {
      await tables.round();
      afterRound();
    },
  });
  return { runner, tables };
}

/**
 * The change topics of the tables the discovery rules match now (none without rules), of the given entities
 * (all when undefined): for `status` and a reindex's replay.
 */
export async function discoveredTopics(config: ShardlineConfig, entities?: string[]): Promise<string[]> {
  const { rules } = config.connector.discovery;
  if (rules.length === 0) return [];
  const dynamodb = createDynamoDb(awsOf(config));
  try {
    const listed = await listTables(
      dynamodb,
      rules.some((rule) => rule.tag),
    );
    const named = new Set(config.connector.tables.map((table) => table.name));
    return resolveRules(rules, listed, named).flatMap(({ table, rule }) =>
      topicsOfTable(config, discoveredTable(rule, table), entities),
    );
  } finally {
    dynamodb.destroy();
  }
}

/**
 * Why a discovered table cannot start yet, when it is about the table (no stream, a stream without both
 * images, a key the rule cannot read, deleted meanwhile); AWS failures go on to the discovery's classification.
 */
function notReady(error: unknown): unknown {
  if (isResourceNotFound(error)) return new TableNotReady('the table is gone');
  if ((error as { $metadata?: unknown }).$metadata !== undefined) return error;
  return new TableNotReady((error as Error).message);
}

/** The topics holding changes of the configured tables' entities (all entities when undefined). */
export function topicsFor(config: ShardlineConfig, entities?: string[]): string[] {
  return [...new Set(config.connector.tables.flatMap((table) => topicsOfTable(config, table, entities)))];
}

/** How a table's sources are made: its scan (re-snapshot runs have their own) and its stream. */
function sourceFactory(config: ShardlineConfig) {
  const aws = awsOf(config);
  const dynamodb = createDynamoDb(aws);
  const snapshotOf = (table: TableSettings, run?: string, version?: string): ShardSource =>
    new SnapshotSource(dynamodb, {
      table: table.name,
      region: aws.region,
      entityRule: table.entity,
      segments: table.snapshot.segments,
      readCapacityPerSecond: table.snapshot.readCapacityPerSecond,
      run,
      version,
    });
  /** The table's initial snapshot when enabled, then its stream; checks its key and stream first. */
  const sourcesOf = async (table: TableSettings): Promise<ShardSource[]> => {
    await checkTableKeys(dynamodb, table);
    const sources: ShardSource[] = table.snapshot.enabled ? [snapshotOf(table)] : [];
    if (table.source === 'kinesis') {
      sources.push(
        new KinesisSource(createKinesis(aws), {
          table: table.name,
          streamName: table.kinesisStream!,
          region: aws.region,
          entityRule: table.entity,
        }),
      );
    } else {
      sources.push(
        new DynamoDbStreamSource(createDynamoDbStreams(aws), {
          table: table.name,
          streamArn: await streamArnOf(dynamodb, table.name),
          region: aws.region,
          entityRule: table.entity,
        }),
      );
    }
    return sources;
  };
  return { snapshotOf, sourcesOf };
}

/** The configured tables' sources; a table that does not exist is a configuration error that names it. */
async function configuredSources(
  config: ShardlineConfig,
  sourcesOf: (table: TableSettings) => Promise<ShardSource[]>,
): Promise<ShardSource[]> {
  const sources: ShardSource[] = [];
  for (const table of config.connector.tables) {
    const found = await sourcesOf(table).catch((error: unknown) => {
      // AWS says only "Requested resource not found": the configured table does not exist where the connector looks.
      if (!isResourceNotFound(error)) throw error;
      const { region, endpoint } = config.aws;
      throw new ConfigurationError(
        `connector.tables[${table.index}].name: table ${table.name} does not exist in ${region}${endpoint ? ` at ${endpoint}` : ''}; create it (with a stream of NEW_AND_OLD_IMAGES), or name an existing one`,
      );
    });
    sources.push(...found);
  }
  return sources;
}

/** The configured tables' sources, and how to make a table's scan source (re-snapshot runs have their own). */
export async function buildSources(config: ShardlineConfig): Promise<{
  sources: ShardSource[];
  snapshotOf: (table: TableSettings, run?: string, version?: string) => ShardSource;
}> {
  const { snapshotOf, sourcesOf } = sourceFactory(config);
  return { sources: await configuredSources(config, sourcesOf), snapshotOf };
}

/** Creates the topics a process needs; a broker restarting meanwhile is waited for instead of ending the process. */
const ensureTopicsWhenAvailable = (kafka: Kafka, topics: string[], partitions: number): Promise<void> =>
  withRetries(
    { baseMs: 500, maxMs: 10_000, attempts: Infinity },
    (error) => classifyError(error) === 'retry',
    () => ensureTopics(kafka, topics, partitions),
    (error, attempt) => {
      logger.warn({ err: error, attempt }, 'cannot create the topics yet; retrying');
    },
  );

export async function buildConnector(config: ShardlineConfig): Promise<PipelineConnector> {
  const { connector } = config;
  const { snapshotOf, sourcesOf } = sourceFactory(config);
  const known = new KnownTables(config);
  const sources = await configuredSources(config, sourcesOf);
  const kafka = kafkaOf(config, 'connector');
  await ensureTopicsWhenAvailable(kafka, [...topicsFor(config), connector.topics.deadLetter], config.kafka.partitions);
  const options: ConnectorOptions = {
    name: connector.name,
    sources,
    kafka,
    codec: codecOf(config),
    topics: connector.topics,
    startPosition: connector.startPosition,
    gapPolicy: connector.gapPolicy,
    snapshotFactory: (tableName, run, version) => {
      const table = known.get(tableName);
      if (table) return snapshotOf(table, run, version);
      // A discovered table that no rule matched at this start (untagged, renamed): it is not read at all.
      logger.warn(
        { table: tableName, run },
        'the checkpoints hold an unfinished re-snapshot run of a table no longer read (no discovery rule matches it): the run is left unfinished',
      );
      return new LeftRun(tableName, run);
    },
    polling: { ...connector.polling, backoff: { ...connector.backoff, attempts: 8 } },
    maxMessageBytes: connector.maxMessageBytes,
    dedupeWindowSize: connector.dedupeWindow,
    retentionHours: connector.retentionHours,
    backoff: { ...connector.backoff, attempts: Infinity },
    logger: logger.child({ component: 'connector' }),
    stuckAfterMs: config.http.stuckAfterSeconds * 1000,
  };
  const built = connector.scaleOut
    ? new ScaledConnector({ ...options, scaleOut: connector.scaleOut })
    : new Connector(options);
  const discovery = tableDiscoveryOf(
    config,
    async (table) => {
      const found = await sourcesOf(table).catch((error: unknown) => {
        throw notReady(error);
      });
      await ensureTopicsWhenAvailable(kafka, topicsOfTable(config, table), config.kafka.partitions);
      known.add(table);
      built.addSources(found);
    },
    logger.child({ component: 'discovery' }),
  );
  return discovery ? new DiscoveringConnector(built, discovery.runner) : built;
}

/** Sinks that write to ClickHouse: in embedded mode they run in the process that owns its directory. */
export const usesClickHouse = (sink: SinkDefinition): boolean => sink.stores.includes('clickhouse');

export async function clickhouseOf(config: ShardlineConfig): Promise<ClickHouseClient> {
  const { url, username, password, database, path } = config.clickhouse;
  if (url) return connectClickHouse({ kind: 'server', url, username, password, database });
  try {
    return await connectClickHouse({ kind: 'embedded', path });
  } catch (error) {
    if (!/Cannot lock file|Failed to create connection/.test(String((error as Error).message))) throw error;
    throw new CliError(directoryHeldMessage(resolve(path)), EXIT.failure);
  }
}

/** The embedded engine admits one process per directory: say which one holds it, and the two ways on. */
function directoryHeldMessage(directory: string): string {
  const holder = processHoldingClickHouse(directory);
  const clickhouseSinks = SINKS.filter(usesClickHouse).map((sink) => sink.name);
  return (
    `the embedded ClickHouse directory ${directory} is held by ${holder ? `\`shardline ${holder.command}\` (pid ${holder.pid})` : 'another process'}, ` +
    `and only one process can open it: run the ClickHouse groups (${clickhouseSinks.join(', ')}) in that one process ` +
    `(\`shardline consumer ${clickhouseSinks.join(' ')}\`) and read through \`shardline query\`, or give them a ClickHouse server (clickhouse.url)`
  );
}

export const viewsOf = (config: ShardlineConfig): Record<string, EntityView> =>
  Object.fromEntries(Object.entries(config.entities).map(([entity, { fields }]) => [entity, fields]));

interface SinkPlan {
  groupId: string;
  topics: string[];
  sink: Sink;
  batchSize: number;
  partitionsConsumedConcurrently?: number;
}

function planSink(
  config: ShardlineConfig,
  definition: SinkDefinition,
  clickhouse: ClickHouseClient | undefined,
  known: KnownTables,
): SinkPlan {
  const sinkConfig = sinkConfigOf(config.consumers, definition);
  const { groupId, partitionsConsumedConcurrently } = sinkConfig;
  const context: SinkContext = {
    group: groupId,
    clickhouse: () => {
      if (!clickhouse) throw new Error(`the ${definition.name} sink needs ClickHouse, which this process did not open`);
      return clickhouse;
    },
    views: viewsOf(config),
    topicOf: (table, entity) => topicFor(config.connector.topics.template, { table, entity }),
    tableOf: (topic) => known.tableOf(topic),
  };
  return {
    groupId,
    topics: known.topics(definition.entities?.(sinkConfig)),
    sink: definition.create(sinkConfig, context),
    batchSize: batchSizeOf(config.consumers, definition),
    partitionsConsumedConcurrently,
  };
}

/** The enabled sinks, or those named. */
export function selectedSinks(
  config: ShardlineConfig,
  names?: string[],
  sinks: readonly SinkDefinition[] = SINKS,
): SinkDefinition[] {
  if (names && names.length > 0) {
    const unknown = names.filter((name) => !sinks.some((sink) => sink.name === name));
    if (unknown.length > 0)
      throw new Error(`unknown sink ${unknown.join(', ')}: expected ${sinks.map((sink) => sink.name).join(', ')}`);
    return names.map((name) => sinks.find((sink) => sink.name === name)!);
  }
  return sinks.filter((sink) => sinkConfigOf(config.consumers, sink).enabled);
}

export async function buildConsumerGroups(
  config: ShardlineConfig,
  sinks: readonly SinkDefinition[],
  clickhouse: ClickHouseClient | undefined,
): Promise<PipelineGroup[]> {
  const known = new KnownTables(config);
  const admin = kafkaOf(config, 'admin');
  const plan = (sink: SinkDefinition) => planSink(config, sink, clickhouse, known);
  const plans = sinks.map(plan);
  await ensureTopicsWhenAvailable(
    admin,
    [...plans.flatMap((planned) => planned.topics), config.connector.topics.deadLetter],
    config.kafka.partitions,
  );
  const discovery = tableDiscoveryOf(
    config,
    async (table) => {
      await ensureTopicsWhenAvailable(admin, topicsOfTable(config, table), config.kafka.partitions);
      known.add(table);
    },
    logger.child({ component: 'discovery' }),
    // After each round (the watch exists by then: rounds start with the groups).
    () => watch.refresh(),
  );
  if (!discovery) return plans.map((planned) => groupFor(config, planned));
  // Each group follows the topics of the tables found, with a new sink per subscription.
  const watch = new TopicWatch(discovery.runner);
  return plans.map((planned, index) =>
    watch.group(
      planned.groupId,
      () => known.topics(sinks[index]!.entities?.(sinkConfigOf(config.consumers, sinks[index]!))),
      (topics) => groupFor(config, { ...plan(sinks[index]!), topics }),
    ),
  );
}

/**
 * The topics a reindex of an entity replays: the configured tables' and those of the tables the discovery
 * rules match now (a rules-only config has no other). A table found but not read yet has no topic, and
 * nothing to replay.
 */
export async function reindexTopics(config: ShardlineConfig, kafka: Kafka, entity: string): Promise<string[]> {
  const discovered = await discoveredTopics(config, [entity]);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const named = topicsFor(config, [entity]);
    return [...new Set([...named, ...discovered.filter((topic) => existing.has(topic))])];
  } finally {
    await admin.disconnect();
  }
}

/** A search consumer group of its own that writes one entity's documents of `topics` into `index` (a reindex). */
export function reindexGroup(
  config: ShardlineConfig,
  entity: string,
  groupId: string,
  index: string,
  topics: string[],
): ConsumerGroup {
  const search = { ...config.consumers.search, documents: { [entity]: config.consumers.search.documents[entity]! } };
  return groupFor(config, {
    groupId,
    topics,
    sink: searchSink(search, { group: groupId, views: viewsOf(config) }, { [entity]: index }),
    batchSize: batchSizeOf(config.consumers, searchDefinition),
    partitionsConsumedConcurrently: search.partitionsConsumedConcurrently,
  });
}

function groupFor(config: ShardlineConfig, plan: SinkPlan): ConsumerGroup {
  return new ConsumerGroup({
    groupId: plan.groupId,
    topics: plan.topics,
    kafka: kafkaOf(config, plan.groupId),
    codec: codecOf(config),
    sink: plan.sink,
    deadLetterTopic: config.connector.topics.deadLetter,
    batchSize: plan.batchSize,
    partitionsConsumedConcurrently: plan.partitionsConsumedConcurrently,
    backoff: { baseMs: 200, maxMs: 10_000, attempts: Infinity },
    maxMessageBytes: config.connector.maxMessageBytes,
    logger: logger.child({ component: 'consumer' }),
    sessionTimeoutMs: config.consumers.sessionTimeoutMs,
    stuckAfterMs: config.http.stuckAfterSeconds * 1000,
  });
}
