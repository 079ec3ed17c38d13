import { z } from 'zod';
import { name } from '../../core/config/common.ts';
import { defaultRollups } from './definition.ts';

const rollupSchema = z.strictObject({
  name,
  entity: name,
  dimensions: z.array(z.strictObject({ name, field: z.string(), transform: z.enum(['day', 'month']).optional() })).min(1),
  measures: z.array(z.union([
    z.strictObject({ name, kind: z.literal('count') }),
    z.strictObject({ name, kind: z.literal('sum'), field: z.string() }),
  ], { error: 'expected { name, kind: count } or { name, kind: sum, field }' })).min(1),
});

export const rollupsConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  groupId: name.default('shardline-rollups'),
  definitions: z.array(rollupSchema).default(defaultRollups),
});
