import type { EntityView, FieldMapping, FieldValue } from '../../schemas/views.ts';

/**
 * A rollup declared in config: which entity, the dimensions it groups by, and what it measures.
 * Shipped by default: daily sales (day and category: order count, revenue) and per-user totals.
 */
export interface RollupDefinition {
  name: string;
  entity: string;
  dimensions: { name: string; field: string; transform?: 'day' | 'month' }[];
  measures: ({ name: string; kind: 'count' } | { name: string; kind: 'sum'; field: string })[];
}

/** A dimension's value from its field's value: `day` and `month` cut a timestamp to a date. */
export function dimensionValue(value: FieldValue, transform?: 'day' | 'month'): FieldValue {
  if (transform === 'day') return String(value).slice(0, 10);
  if (transform === 'month') return `${String(value).slice(0, 7)}-01`;
  return value;
}

/** The ClickHouse column type of a field of the entity's view. */
export function columnType(mapping: FieldMapping, transform?: 'day' | 'month'): string {
  if (transform === 'day' || transform === 'month') return 'Date';
  switch (mapping.type) {
    case 'decimal': return `Decimal(38, ${mapping.scale ?? 2})`;
    case 'integer': return 'Int64';
    case 'timestamp': return "DateTime64(6, 'UTC')";
    case 'boolean': return 'Bool';
    case 'string': return 'String';
  }
}

/** Checks a rollup against its entity's view; the message names what does not fit. */
export function checkRollup(rollup: RollupDefinition, view: EntityView | undefined): string[] {
  if (!view) return [`rollups.${rollup.name}: entity '${rollup.entity}' has no declared fields`];
  const problems: string[] = [];
  for (const dimension of rollup.dimensions) {
    const mapping = view[dimension.field];
    if (!mapping) problems.push(`rollups.${rollup.name}.dimensions.${dimension.name}: '${dimension.field}' is not a field of ${rollup.entity}`);
    else if (dimension.transform && mapping.type !== 'timestamp') problems.push(`rollups.${rollup.name}.dimensions.${dimension.name}: ${dimension.transform} needs a timestamp field`);
  }
  for (const measure of rollup.measures) {
    if (measure.kind !== 'sum') continue;
    const mapping = view[measure.field];
    if (!mapping) problems.push(`rollups.${rollup.name}.measures.${measure.name}: '${measure.field}' is not a field of ${rollup.entity}`);
    else if (mapping.type !== 'decimal' && mapping.type !== 'integer') problems.push(`rollups.${rollup.name}.measures.${measure.name}: sums need a decimal or integer field`);
  }
  return problems;
}

export const defaultRollups: RollupDefinition[] = [
  {
    name: 'daily_sales',
    entity: 'order',
    dimensions: [{ name: 'day', field: 'created_at', transform: 'day' }, { name: 'category', field: 'category' }],
    measures: [{ name: 'order_count', kind: 'count' }, { name: 'revenue', kind: 'sum', field: 'total' }],
  },
  {
    name: 'user_totals',
    entity: 'order',
    dimensions: [{ name: 'user_id', field: 'user_id' }],
    measures: [{ name: 'order_count', kind: 'count' }, { name: 'total_spent', kind: 'sum', field: 'total' }],
  },
];

export const defaultOrderView: EntityView = {
  total: { attribute: 'total', type: 'decimal', scale: 2 },
  created_at: { attribute: 'created_at', type: 'timestamp' },
  category: { attribute: 'category', type: 'string', default: 'other' },
  user_id: { attribute: 'user_id', type: 'string', default: 'unknown' },
  status: { attribute: 'status', type: 'string', default: 'new' },
};
