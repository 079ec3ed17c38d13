import { toScaled } from '../../schemas/decimal.ts';
import type { ReportProblem } from '../../core/config/common.ts';
import { ViewError, type EntityView, type FieldMapping, type FieldValue } from '../../schemas/views.ts';
import type { RollupDefinition } from './config.ts';

export type { RollupDefinition };

/** A dimension's value from its field's value: `day` and `month` cut a timestamp to a date. */
export function dimensionValue(value: FieldValue, transform?: 'day' | 'month'): FieldValue {
  if (transform === 'day') return String(value).slice(0, 10);
  if (transform === 'month') return `${String(value).slice(0, 7)}-01`;
  return value;
}

/** Decimal columns are Decimal(38, scale): the widest that is still an Int128. */
const DECIMAL_PRECISION = 38;
const decimalScale = (mapping: FieldMapping): number => mapping.scale ?? 2;

/** The ClickHouse column type of a field of the entity's view. */
export function columnType(mapping: FieldMapping, transform?: 'day' | 'month'): string {
  if (transform === 'day' || transform === 'month') return 'Date';
  switch (mapping.type) {
    case 'decimal':
      return `Decimal(${DECIMAL_PRECISION}, ${decimalScale(mapping)})`;
    case 'integer':
      return 'Int64';
    case 'timestamp':
      return "DateTime64(6, 'UTC')";
    case 'boolean':
      return 'Bool';
    case 'string':
      return 'String';
  }
}

/** What a ClickHouse Date holds; a day outside is clamped to the nearer end, not refused. */
const DATE_RANGE = { from: '1970-01-01', to: '2149-06-06' };
/** What an Int64 holds; an integer outside is clamped to the nearer end, not refused. */
const INT64_RANGE = { from: -(2n ** 63n), to: 2n ** 63n - 1n };
/** A Decimal(38, s) holds fewer than 10^38 units of 10^-s; a larger value fails the whole insert. */
const DECIMAL_UNITS_LIMIT = 10n ** BigInt(DECIMAL_PRECISION);

/**
 * A field's value as its rollup column holds it (a `day`/`month` cut to a date). A value the column cannot
 * hold is refused, naming the field, the value and the column type, so that its record is dead-lettered:
 * ClickHouse would otherwise fail the whole batch (Decimal) or silently store another value (Int64, Date).
 * Readers give decimals and integers as exact normalised text; they are compared as BigInts, never as numbers.
 */
export function columnValue(
  field: string,
  value: FieldValue,
  mapping: FieldMapping,
  transform?: 'day' | 'month',
): FieldValue {
  const type = columnType(mapping, transform);
  if (transform) {
    const day = String(dimensionValue(value, transform));
    // Both are YYYY-MM-DD (views hold timestamps to years 1900-2299), so text order is date order.
    if (day < DATE_RANGE.from || day > DATE_RANGE.to)
      throw new ViewError(
        `${field}: ${transform} ${day} does not fit ${type} (${DATE_RANGE.from} to ${DATE_RANGE.to})`,
      );
    return day;
  }
  if (mapping.type === 'integer') {
    const integer = BigInt(String(value));
    if (integer < INT64_RANGE.from || integer > INT64_RANGE.to)
      throw new ViewError(`${field}: ${String(value)} does not fit ${type} (${INT64_RANGE.from} to ${INT64_RANGE.to})`);
  }
  if (mapping.type === 'decimal') {
    const units = toScaled(String(value), decimalScale(mapping));
    if ((units < 0n ? -units : units) >= DECIMAL_UNITS_LIMIT)
      throw new ViewError(
        `${field}: ${String(value)} does not fit ${type}, which holds at most ${DECIMAL_PRECISION - decimalScale(mapping)} integer digits`,
      );
  }
  return value;
}

/**
 * The aggregate's sum of a measure column over the items table's rows, each signed (+1 a state's
 * contribution, -1 its retraction). ClickHouse (chDB 26.7) sums a Decimal(38, s) as Decimal(38, s) and an
 * Int64 as Int64 and wraps around silently past Int128 / Int64: 20 x 99999999999999999999999999999999999.99
 * sums to -1402823669209384634633746074317682114.76 and 2 x (2^63 - 1) to -2; decimal_check_overflow does not
 * apply to sum. Summed as Decimal(76, s) / Int128 instead, a sum of values their columns hold cannot overflow
 * before 10^38 / 2^64 rows. The projections and the views use this same text, which is how ClickHouse matches them.
 */
export function signedSumOf(column: string, mapping: FieldMapping): string {
  return mapping.type === 'decimal'
    ? `sum(toDecimal256(${column}, ${decimalScale(mapping)}) * sign)`
    : `sum(toInt128(${column}) * sign)`;
}

/** The aggregate's count of items from a rollup's counted flag (0 for a deleted item, or one the rollup refused). */
export const signedCount = (countedColumn: string): string => `sum(sign * ${countedColumn})`;

/** Checks a rollup against its entity's view, reporting each problem at its key below the rollup. */
export function checkRollup(rollup: RollupDefinition, view: EntityView | undefined, report: ReportProblem): void {
  if (!view)
    return report(['entity'], `'${rollup.entity}' is not a declared entity (entities.${rollup.entity}.fields)`);
  rollup.dimensions.forEach((dimension, index) => {
    const mapping = view[dimension.field];
    if (!mapping) report(['dimensions', index, 'field'], `'${dimension.field}' is not a field of ${rollup.entity}`);
    else if (dimension.transform && mapping.type !== 'timestamp')
      report(
        ['dimensions', index, 'transform'],
        `${dimension.transform} needs a timestamp field; '${dimension.field}' is a ${mapping.type}`,
      );
  });
  rollup.measures.forEach((measure, index) => {
    if (measure.kind !== 'sum') return;
    const mapping = view[measure.field];
    if (!mapping) report(['measures', index, 'field'], `'${measure.field}' is not a field of ${rollup.entity}`);
    else if (mapping.type !== 'decimal' && mapping.type !== 'integer')
      report(
        ['measures', index, 'field'],
        `sums need a decimal or integer field; '${measure.field}' is a ${mapping.type}`,
      );
  });
}

export const defaultRollups: RollupDefinition[] = [
  {
    name: 'daily_sales',
    entity: 'order',
    dimensions: [
      { name: 'day', field: 'created_at', transform: 'day' },
      { name: 'category', field: 'category' },
    ],
    measures: [
      { name: 'order_count', kind: 'count' },
      { name: 'revenue', kind: 'sum', field: 'total' },
    ],
  },
  {
    name: 'user_totals',
    entity: 'order',
    dimensions: [{ name: 'user_id', field: 'user_id' }],
    measures: [
      { name: 'order_count', kind: 'count' },
      { name: 'total_spent', kind: 'sum', field: 'total' },
    ],
  },
];

export const defaultOrderView: EntityView = {
  total: { attribute: 'total', type: 'decimal', scale: 2 },
  created_at: { attribute: 'created_at', type: 'timestamp' },
  category: { attribute: 'category', type: 'string', default: 'other' },
  user_id: { attribute: 'user_id', type: 'string', default: 'unknown' },
  status: { attribute: 'status', type: 'string', default: 'new' },
};
