import { defineSink } from '../runtime/sink-definition.ts';
import { rollupsConfigSchema } from './config.ts';
import { checkRollup } from './definition.ts';
import { RollupSink } from './rollup-sink.ts';

/** Rollups: aggregates of entities by dimensions, in ClickHouse. */
export const rollups = defineSink({
  name: 'rollups',
  // ClickHouse wants blocks of at least 10,000 rows: fewer parts to merge (the rollups group ran twice as fast as at 500).
  batchSize: 10_000,
  config: rollupsConfigSchema,
  stores: ['clickhouse'],
  entities: (config) => [...new Set(config.definitions.map((rollup) => rollup.entity))],
  check: (config, views, report) =>
    config.definitions.forEach((rollup, index) =>
      checkRollup(rollup, views[rollup.entity], (path, message) => report(['definitions', index, ...path], message)),
    ),
  create: (config, context) =>
    new RollupSink({
      group: context.group,
      clickhouse: context.clickhouse(),
      rollups: config.definitions,
      views: context.views,
      topicOf: context.topicOf,
    }),
});
