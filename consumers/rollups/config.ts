import { z } from 'zod';
import { defaultRollups } from './definition.ts';

/**
 * Rollup, entity, dimension and measure names become ClickHouse identifiers, unquoted (`rollups_<entity>_items`,
 * the rollup's view, `<rollup>__d_<dimension>`, `AS <measure>`): a dot or a dash there would break, or change,
 * the SQL. Keywords are fine: ClickHouse takes them as names.
 */
const identifier = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'expected a letter or underscore, then letters, digits or underscores (it names ClickHouse tables, views and columns)',
  );

const rollupSchema = z.strictObject({
  name: identifier,
  entity: identifier.describe('The entity (of `entities`) whose items the rollup aggregates.'),
  dimensions: z
    .array(
      z.strictObject({
        name: identifier,
        field: z.string(),
        transform: z.enum(['day', 'month']).optional().describe('Cuts a timestamp field to its day or month.'),
      }),
    )
    .min(1),
  measures: z
    .array(
      z.union(
        [
          z.strictObject({ name: identifier, kind: z.literal('count') }),
          z.strictObject({ name: identifier, kind: z.literal('sum'), field: z.string() }),
        ],
        { error: 'expected { name, kind: count } or { name, kind: sum, field }' },
      ),
    )
    .min(1),
});

/** A rollup declared in config: which entity, the dimensions it groups by, and what it measures. */
export type RollupDefinition = z.output<typeof rollupSchema>;

export const rollupsConfigSchema = z.strictObject({
  definitions: z
    .array(rollupSchema)
    .default(defaultRollups)
    .describe('Each rollup: the entity it aggregates, the dimensions it groups by and what it measures.'),
});
