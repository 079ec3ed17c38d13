import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultOrderView } from '../../../consumers/rollups/definition.ts';
import { minimalConfig, problemsOf } from '../../harness/config-problems.ts';

const minimal = minimalConfig;

const withRollup = (rollup: object, entities?: object) => ({
  ...minimal,
  ...(entities ? { entities } : {}),
  consumers: { rollups: { definitions: [rollup] } },
});
const identifier = (got: string) =>
  `got "${got}"; expected a letter or underscore, then letters, digits or underscores (it names ClickHouse tables, views and columns)`;

test('rollup, dimension and measure names that would break the SQL they name are config errors at their key', () => {
  const problems = problemsOf(
    withRollup({
      name: 'daily-sales',
      entity: 'order',
      dimensions: [{ name: '1day', field: 'created_at', transform: 'day' }],
      measures: [
        { name: 'orders', kind: 'count' },
        { name: 'revenue.eur', kind: 'sum', field: 'total' },
      ],
    }),
  );
  assert.deepEqual(problems, [
    `consumers.rollups.definitions[0].name: ${identifier('daily-sales')}`,
    `consumers.rollups.definitions[0].dimensions[0].name: ${identifier('1day')}`,
    `consumers.rollups.definitions[0].measures[1].name: ${identifier('revenue.eur')}`,
  ]);
});

test('an entity whose name cannot be part of a table name cannot have rollups', () => {
  const fields = { total: { attribute: 'total', type: 'decimal' } };
  const problems = problemsOf(
    withRollup(
      {
        name: 'line_totals',
        entity: 'order-line',
        dimensions: [{ name: 'total', field: 'total' }],
        measures: [{ name: 'lines', kind: 'count' }],
      },
      { order: { fields: defaultOrderView }, 'order-line': { fields } },
    ),
  );
  assert.deepEqual(problems, [`consumers.rollups.definitions[0].entity: ${identifier('order-line')}`]);
});

test('names that are SQL keywords or start with an underscore are accepted: ClickHouse takes them unquoted', () => {
  const problems = problemsOf(
    withRollup({
      name: 'select',
      entity: 'order',
      dimensions: [{ name: 'from', field: 'category' }],
      measures: [{ name: '_group', kind: 'count' }],
    }),
  );
  assert.deepEqual(problems, []);
});
