import { z } from 'zod';
import { name, positiveInt } from '../../core/config/common.ts';

export const auditConfigSchema = z.strictObject({
  table: name.default('audit_log').describe('The ClickHouse table of the audit log.'),
  retentionDays: positiveInt.default(90).describe('Entries older than this are dropped (a TTL on the table).'),
  redact: z
    .record(z.string(), z.enum(['drop', 'mask', 'hash']))
    .default({})
    .describe('Field name -> drop | mask | hash, applied to old and new values before they are stored.'),
  hashSalt: z
    .string()
    .default('')
    .describe('Salt for hashed fields; set it from the environment (`SHARDLINE_CONFIG__consumers__audit__hashSalt`).'),
  includeSnapshots: z.boolean().default(false).describe('Snapshot rows are observations, not changes: off by default.'),
});
