import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../core/aws.ts';
import type { ShardlineConfig } from '../config/schema.ts';
import { entityOf, type EntityRule } from '../../connector/events/entity.ts';
import { aggregateDifferences } from '../../consumers/rollups/consistency.ts';
import { columnValue, type RollupDefinition } from '../../consumers/rollups/definition.ts';
import { ConversionError, type DynamoImage } from '../../schemas/change-event.ts';
import { formatScaled, toScaled } from '../../schemas/decimal.ts';
import { readField, ViewError } from '../../schemas/views.ts';
import { awsOf } from '../pipeline.ts';
import { querySql } from './query.ts';

export interface Difference {
  /** `source`: the rollup against a scan of the tables; `aggregate`: the rollup's aggregate against the sum over its items' state. */
  check: 'source' | 'aggregate';
  rollup: string;
  group: Record<string, string>;
  expected: Record<string, string> | null;
  actual: Record<string, string> | null;
}

/**
 * Compares every rollup in ClickHouse with the same rollup computed from a consistent scan of the
 * source tables: the check that nothing was lost or doubled anywhere between DynamoDB and ClickHouse.
 * Run it when the pipeline has caught up; changes still in flight show as differences. Each rollup's
 * aggregate is also compared with the sum over its items' state (`shardline rollups rebuild` repairs a
 * difference there).
 */
export async function reconcile(
  config: ShardlineConfig,
): Promise<{ rollups: number; groups: number; differences: Difference[] }> {
  const dynamodb = createDynamoDb(awsOf(config));
  const items: { entity: string; image: DynamoImage }[] = [];
  try {
    for (const table of config.connector.tables) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await dynamodb.send(
          new ScanCommand({ TableName: table.name, ConsistentRead: true, ExclusiveStartKey: start as never }),
        );
        for (const image of (page.Items ?? []) as DynamoImage[]) {
          // An item no entity can be named for was dead-lettered by the connector: it is in no rollup either.
          const entity = entityNameOf(table.entity, image);
          if (entity !== undefined) items.push({ entity, image });
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
  } finally {
    dynamodb.destroy();
  }
  const differences: Difference[] = [];
  let groups = 0;
  const definitions: RollupDefinition[] = config.consumers.rollups.definitions;
  for (const rollup of definitions) {
    const view = config.entities[rollup.entity]!.fields;
    const expected = new Map<string, { group: Record<string, string>; count: number; sums: Map<string, bigint> }>();
    for (const { entity, image } of items) {
      if (entity !== rollup.entity) continue;
      const group: Record<string, string> = {};
      const amounts = new Map<string, bigint>();
      try {
        // The same reads and column checks as the sink: what it dead-letters is in no rollup.
        for (const dimension of rollup.dimensions) {
          const mapping = view[dimension.field]!;
          const value = readField(image, dimension.field, mapping);
          if (value === null) throw new ViewError(`${dimension.field} is missing`);
          group[dimension.name] = String(columnValue(dimension.field, value, mapping, dimension.transform));
        }
        for (const measure of rollup.measures) {
          if (measure.kind !== 'sum') continue;
          const mapping = view[measure.field]!;
          const value = readField(image, measure.field, mapping);
          if (value === null) throw new ViewError(`${measure.field} is missing`);
          amounts.set(
            measure.name,
            toScaled(
              String(columnValue(measure.field, value, mapping)),
              mapping.type === 'integer' ? 0 : (mapping.scale ?? 2),
            ),
          );
        }
      } catch (error) {
        if (error instanceof ViewError) continue;
        throw error;
      }
      const key = JSON.stringify(group);
      const entry = expected.get(key) ?? { group, count: 0, sums: new Map() };
      entry.count++;
      for (const [name, amount] of amounts) entry.sums.set(name, (entry.sums.get(name) ?? 0n) + amount);
      expected.set(key, entry);
    }
    const dimensionNames = rollup.dimensions.map((dimension) => dimension.name);
    const actualRows = await querySql(config, `SELECT * FROM ${rollup.name}`);
    const actual = new Map(
      actualRows.map((row) => [
        JSON.stringify(Object.fromEntries(dimensionNames.map((name) => [name, String(row[name])]))),
        row,
      ]),
    );
    const measuresOf = (entry: { count: number; sums: Map<string, bigint> }): Record<string, string> =>
      Object.fromEntries(
        rollup.measures.map((measure) => {
          if (measure.kind === 'count') return [measure.name, String(entry.count)];
          const mapping = view[measure.field]!;
          return [
            measure.name,
            formatScaled(entry.sums.get(measure.name) ?? 0n, mapping.type === 'integer' ? 0 : (mapping.scale ?? 2)),
          ];
        }),
      );
    for (const key of new Set([...expected.keys(), ...actual.keys()])) {
      groups++;
      const want = expected.get(key);
      const have = actual.get(key);
      const wanted = want ? measuresOf(want) : null;
      const had = have
        ? Object.fromEntries(rollup.measures.map((measure) => [measure.name, String(have[measure.name])]))
        : null;
      if (JSON.stringify(wanted) !== JSON.stringify(had))
        differences.push({
          check: 'source',
          rollup: rollup.name,
          group: JSON.parse(key) as Record<string, string>,
          expected: wanted,
          actual: had,
        });
    }
    for (const difference of await aggregateDifferences((sql) => querySql(config, sql), rollup, view)) {
      differences.push({
        check: 'aggregate',
        rollup: rollup.name,
        group: difference.group,
        expected: difference.state,
        actual: difference.aggregate,
      });
    }
  }
  return { rollups: definitions.length, groups, differences };
}

function entityNameOf(rule: EntityRule, image: DynamoImage): string | undefined {
  try {
    return entityOf(rule, image, image);
  } catch (error) {
    if (error instanceof ConversionError) return undefined;
    throw error;
  }
}
