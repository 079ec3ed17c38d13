import { z } from 'zod';
import { name } from '../../core/config/common.ts';
import { defaultRollups } from './definition.ts';

const rollupSchema = z.strictObject({
  name,
  entity: name.describe('The entity (of `entities`) whose items the rollup aggregates.'),
  dimensions: z.array(z.strictObject({
    name,
    field: z.string(),
    transform: z.enum(['day', 'month']).optional().describe('Cuts a timestamp field to its day or month.'),
  })).min(1),
  measures: z.array(z.union([
    z.strictObject({ name, kind: z.literal('count') }),
    z.strictObject({ name, kind: z.literal('sum'), field: z.string() }),
  ], { error: 'expected { name, kind: count } or { name, kind: sum, field }' })).min(1),
});

/** A rollup declared in config: which entity, the dimensions it groups by, and what it measures. */
export type RollupDefinition = z.output<typeof rollupSchema>;

export const rollupsConfigSchema = z.strictObject({
  definitions: z.array(rollupSchema).default(defaultRollups).describe('Each rollup: the entity it aggregates, the dimensions it groups by and what it measures.'),
});
