import { z } from 'zod';

export const cacheConfigSchema = z.strictObject({
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379')
    .describe('`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS; `SHARDLINE_REDIS_URL` overrides it.'),
  ttlSeconds: z
    .number()
    .int()
    .nonnegative()
    .default(3600)
    .describe(
      'Seconds an item (or its deletion marker) stays cached after its last change; 0 keeps it until it changes. Versions never expire.',
    ),
  keyPrefix: z.string().default('item').describe('Keys are `<keyPrefix>:{<table>}:<item key>`.'),
});
