import { z } from 'zod';
import { name, positiveInt, reportAt } from '../../core/config/common.ts';
import {
  awsConfigSchema,
  clickhouseConfigSchema,
  httpConfigSchema,
  kafkaConfigSchema,
  registryConfigSchema,
} from '../../core/config/schema.ts';
import { connectorConfigSchema } from '../../connector/config.ts';
import { defaultOrderView } from '../../consumers/rollups/definition.ts';
import type { SinkConfig, SinkDefinition } from '../../consumers/runtime/sink-definition.ts';
import { entityViewSchema } from '../../schemas/views.ts';
import { SINKS } from '../sinks.ts';
import { checkFallbacks, connectorSettings } from './connector.ts';

/** The `consumers` block: each sink's block under its name. */
type SinkBlocks<Sinks extends readonly SinkDefinition[]> = {
  [Sink in Sinks[number] as Sink['name']]: z.ZodPrefault<Sink['config']>;
};

const sinkBlocks = <Sinks extends readonly SinkDefinition[]>(sinks: Sinks): SinkBlocks<Sinks> =>
  Object.fromEntries(sinks.map((sink) => [sink.name, sink.config.prefault({})])) as SinkBlocks<Sinks>;

/** A sink's parsed block, which the schema put under the sink's name. */
export const sinkConfigOf = <Shape extends z.core.$ZodShape>(
  consumers: object,
  sink: SinkDefinition<string, Shape>,
): SinkConfig<Shape> => (consumers as Record<string, SinkConfig<Shape>>)[sink.name]!;

/** A group's records per write: its own, else `consumers.batchSize`, else its sink's. */
export const batchSizeOf = (
  consumers: { batchSize?: number | undefined },
  sink: SinkDefinition<string, z.core.$ZodShape>,
): number => sinkConfigOf(consumers, sink).batchSize ?? consumers.batchSize ?? sink.batchSize;

/** The whole configuration of a Shardline with these sinks; cross-field checks report at their full key. */
export function configSchemaOf<Sinks extends readonly SinkDefinition[]>(sinks: Sinks) {
  const consumers = z.strictObject({
    batchSize: positiveInt
      .optional()
      .describe(
        "Records per sink write, for the groups that set no batchSize of their own; when left out, each sink's own (see the groups' keys).",
      ),
    sessionTimeoutMs: positiveInt.default(30_000).describe('Also the rebalance timeout.'),
    ...sinkBlocks(sinks),
  });
  return z
    .strictObject({
      aws: awsConfigSchema,
      kafka: kafkaConfigSchema,
      registry: registryConfigSchema,
      clickhouse: clickhouseConfigSchema,
      connector: connectorConfigSchema,
      entities: z
        .record(name, z.strictObject({ fields: entityViewSchema }))
        .default({ order: { fields: defaultOrderView } })
        .describe(
          'Typed views of entities, used by rollups and search documents; the `order` fields shipped when left out.',
        ),
      consumers: consumers.prefault({} as z.input<typeof consumers>), // every key of the block has a default
      http: httpConfigSchema,
    })
    .transform((config) => ({
      ...config,
      connector: connectorSettings(config.connector, Object.keys(config.entities)),
    }))
    .superRefine((config, context) => {
      checkFallbacks(config.connector, reportAt(context, ['connector']));
      const views = Object.fromEntries(Object.entries(config.entities).map(([entity, { fields }]) => [entity, fields]));
      for (const sink of sinks)
        sink.check?.(sinkConfigOf(config.consumers, sink), views, reportAt(context, ['consumers', sink.name]));
    });
}

export const configSchema = configSchemaOf(SINKS);
export type ShardlineConfig = z.output<typeof configSchema>;
export type ShardlineConfigInput = z.input<typeof configSchema>;
export type TableSettings = ShardlineConfig['connector']['tables'][number];
export type DiscoveryRule = ShardlineConfig['connector']['discovery']['rules'][number];
