import { z } from 'zod';
import { name, positiveInt } from '../../core/config/common.ts';

export const auditConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  groupId: name.default('shardline-audit'),
  table: name.default('audit_log'),
  retentionDays: positiveInt.default(90),
  /** Field name -> drop | mask | hash, applied to old and new values before they are stored. */
  redact: z.record(z.string(), z.enum(['drop', 'mask', 'hash'])).default({}),
  /** Salt for hashed fields; set it from the environment (SHARDLINE_CONFIG__consumers__audit__hashSalt). */
  hashSalt: z.string().default(''),
  includeSnapshots: z.boolean().default(false),
});
