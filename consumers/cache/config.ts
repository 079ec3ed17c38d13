import { z } from 'zod';
import { name } from '../../core/config/common.ts';

export const cacheConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  groupId: name.default('shardline-cache'),
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS; SHARDLINE_REDIS_URL overrides it. */
  url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  /** Seconds an item (or its deletion marker) stays cached after its last change; 0 keeps it until it changes. Versions never expire. */
  ttlSeconds: z.number().int().nonnegative().default(3600),
  keyPrefix: z.string().default('item'),
});
