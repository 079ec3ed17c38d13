import { CacheSink } from './cache-sink.ts';
import { cacheConfigSchema } from './config.ts';
import { defineSink } from '../runtime/sink-definition.ts';

/** The item cache: the latest state of every item, in Redis. */
export const cache = defineSink({
  name: 'cache',
  // One script of a few hundred items keeps Redis responsive; 5,000 at once were slower, not faster.
  batchSize: 500,
  config: cacheConfigSchema,
  stores: ['redis'],
  create: (config, context) =>
    new CacheSink({
      group: context.group,
      url: config.url,
      ttlSeconds: config.ttlSeconds,
      keyPrefix: config.keyPrefix,
      tableOf: context.tableOf,
    }),
});
