import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { name, positiveInt, type ReportProblem } from '../../core/config/common.ts';
import type { EntityView } from '../../schemas/views.ts';
import type { Sink } from './sink.ts';

/**
 * A store a sink writes to. ClickHouse is the shared one of the top-level `clickhouse` block (embedded, it
 * lives in the process that owns its directory); OpenSearch and Redis are reached at the sink's own `url`,
 * which the stack's endpoint variable of that store overrides.
 */
export type Store = 'clickhouse' | 'opensearch' | 'redis';

/** What the pipeline hands a sink's factory. */
export interface SinkContext {
  /** The consumer group id: also the name under which the sink keeps its progress. */
  group: string;
  /** The shared ClickHouse; only for sinks that list the `clickhouse` store. */
  clickhouse(): ClickHouseClient;
  /** Declared fields per entity (`entities`). */
  views: Record<string, EntityView>;
  /** The change topic of a table's items of an entity. */
  topicOf(table: string, entity: string): string;
  /** The table whose changes a topic carries. */
  tableOf(topic: string): string;
}

/** The keys of every consumer group's block, beside its sink's own. */
const groupKeys = (sink: string, batchSize: number) => ({
  enabled: z
    .boolean()
    .default(true)
    .describe('Run this group under `run`, and under `consumer` when no group is named.'),
  groupId: name.default(`shardline-${sink}`).describe('The Kafka consumer group.'),
  batchSize: positiveInt
    .optional()
    .describe(
      `Records the sink gets in one write (a batch holds what is fetched, up to this); \`consumers.batchSize\` when left out, else ${batchSize.toLocaleString('en-US')}.`,
    ),
  partitionsConsumedConcurrently: positiveInt
    .max(100)
    .default(1)
    .describe(
      "Partitions applied at once, and store writes in flight: while one partition's write lands, the next batches are fetched and decoded.",
    ),
});

type GroupKeys = ReturnType<typeof groupKeys>;
/** The block `consumers.<name>`: the sink's own keys and the group's. */
type Block<Shape extends z.core.$ZodShape> = z.ZodObject<Shape & GroupKeys, z.core.$strict>;
/** A sink's parsed block: its own settings and the group's (spelled apart, so that a list of sinks keeps the group's types). */
export type SinkConfig<Shape extends z.core.$ZodShape> = z.output<z.ZodObject<Shape, z.core.$strict>> &
  z.output<z.ZodObject<GroupKeys>>;

/** What a sink is, but for its config. Methods, so that sinks of different shapes make one list of SinkDefinition. */
interface SinkParts<Name extends string, Shape extends z.core.$ZodShape> {
  name: Name;
  stores: readonly Store[];
  /**
   * Records per write when neither the group's block nor `consumers.batchSize` sets one: what suits the store
   * (ClickHouse wants blocks of thousands of rows; one Redis script of a few hundred items keeps it responsive);
   * DEFAULT_BATCH_SIZE when left out.
   */
  batchSize?: number;
  /** The entities whose topics the group reads; every entity's when left out. */
  entities?(config: SinkConfig<Shape>): string[];
  /** Checks the block against the declared entities, reporting each problem at its key below the block. */
  check?(config: SinkConfig<Shape>, views: Record<string, EntityView>, report: ReportProblem): void;
  create(config: SinkConfig<Shape>, context: SinkContext): Sink;
}

export interface SinkDefinition<
  Name extends string = string,
  Shape extends z.core.$ZodShape = z.core.$ZodShape,
> extends SinkParts<Name, Shape> {
  config: Block<Shape>;
  batchSize: number;
}

/** Records per write of a sink that names no size of its own. */
export const DEFAULT_BATCH_SIZE = 500;

/**
 * A sink's one definition, as its folder exports it: its name, its own config keys (the group's, such as
 * enabled, groupId, batchSize and partitionsConsumedConcurrently, are added), the stores it needs, its checks
 * against the declared entities and its factory. `cli/sinks.ts` lists them.
 */
export function defineSink<Name extends string, Shape extends z.core.$ZodShape>(
  spec: SinkParts<Name, Shape> & { config: z.ZodObject<Shape, z.core.$strict> },
): SinkDefinition<Name, Shape> {
  const batchSize = spec.batchSize ?? DEFAULT_BATCH_SIZE;
  return {
    ...spec,
    batchSize,
    config: z.strictObject(groupKeys(spec.name, batchSize)).extend(spec.config.shape) as Block<Shape>,
  };
}
