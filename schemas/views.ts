import { z } from 'zod';
import { name } from '../core/config/common.ts';
import type { DynamoImage, DynamoValue } from './change-event.ts';
import { DecimalError, normalizeDecimal } from './decimal.ts';

/**
 * Typed views of an entity: declared mappings from attributes of the lossless image to typed fields
 * (an order's `total` as a decimal, `created_at` as a timestamp). Nothing is guessed: a value that
 * does not fit its declared type is an error naming the field, and the record goes to the dead-letter topic.
 */
export const fieldMappingSchema = z.strictObject({
  attribute: z.string().min(1).describe('Attribute name, or a dotted path into nested maps (`address.city`).'),
  type: z.enum(['string', 'decimal', 'integer', 'timestamp', 'boolean']),
  scale: z
    .number()
    .int()
    .min(0)
    .max(
      36,
      'expected at most 36 decimal places (a Decimal(38, scale) column keeps 38 - scale integer digits; at least 2 are needed)',
    )
    .optional()
    .describe('Decimal places of a `decimal` field (2 when left out).'),
  default: z
    .union([z.string(), z.number(), z.boolean()])
    .optional()
    .describe('Used when the attribute is absent (or NULL).'),
});

export const entityViewSchema = z.record(name, fieldMappingSchema);

export type FieldMapping = z.output<typeof fieldMappingSchema>;
export type FieldType = FieldMapping['type'];
export type EntityView = z.output<typeof entityViewSchema>;
export type FieldValue = string | boolean | null;

export class ViewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViewError';
  }
}

function lookup(image: DynamoImage, path: string): DynamoValue | undefined {
  if (!path.includes('.')) return image[path];
  const [head, ...rest] = path.split('.');
  let value: DynamoValue | undefined = image[head!];
  for (const part of rest) value = value?.M?.[part];
  return value;
}

/** A date, optionally a time (`T` or a space between), optionally an offset (Z, ±hh:mm, ±hhmm, ±hh). */
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:Z|([+-]\d{2})(?::?(\d{2}))?)?)?$/i;

/** What ClickHouse's DateTime64 holds: a time outside it would fail the whole insert, not just this record. */
const EARLIEST = Date.UTC(1900, 0, 1);
const LATEST = Date.UTC(2300, 0, 1);

/**
 * An ISO 8601 string without an offset is UTC (date-only too): never the process's local time, which
 * would move days with the machine's TZ. A string that is not ISO 8601 or names no real day is refused.
 */
function isoTime(text: string, field: string): number {
  const match = ISO_8601.exec(text);
  if (!match) throw new ViewError(`${field}: ${JSON.stringify(text)} is not an ISO 8601 timestamp`);
  const [, year, month, day, time = '00:00', offsetHours, offsetMinutes = '00'] = match;
  // Date would roll 2026-02-30 over into March.
  if (new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).getUTCDate() !== Number(day))
    throw new ViewError(`${field}: ${JSON.stringify(text)} is not a date`);
  const offset = offsetHours ? `${offsetHours}:${offsetMinutes}` : 'Z';
  return new Date(`${year}-${month}-${day}T${time}${offset}`).getTime();
}

/**
 * Epoch numbers by magnitude, since sources write all three: below 1e11 seconds (up to year 5138),
 * below 1e14 milliseconds, below 1e17 microseconds; anything larger is refused. Unambiguous for times
 * from 1973-03-03 on in every unit; a millisecond epoch before 1970-05 would read as seconds, and one
 * from then to 1973-03 is refused by the range check below.
 */
function epochTime(text: string, field: string): number {
  const value = Number(text);
  const magnitude = Math.abs(value);
  if (magnitude < 1e11) return value * 1000;
  if (magnitude < 1e14) return value;
  if (magnitude < 1e17) return value / 1000;
  throw new ViewError(`${field}: ${text} is too large for epoch seconds, milliseconds or microseconds`);
}

/** What `toISOString` writes, and most sources store: read without the general parser when it round-trips. */
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A canonical UTC string that names a real time in range, as `timestamp` writes it; else undefined. */
function canonicalTimestamp(text: string): string | undefined {
  if (text.length !== 24 || !CANONICAL_UTC.test(text)) return undefined;
  const time = Date.parse(text);
  // Date.parse rolls 2026-02-30 over into March and reads 24:00 as the next day: only a round trip is the same time.
  if (!(time >= EARLIEST && time < LATEST) || new Date(time).toISOString() !== text) return undefined;
  return `${text.slice(0, 10)} ${text.slice(11, 23)}`;
}

/** An ISO 8601 string or an epoch number, as ClickHouse DateTime64(6) text in UTC. */
function timestamp(value: DynamoValue, field: string): string {
  const canonical = value.S === undefined ? undefined : canonicalTimestamp(value.S);
  if (canonical !== undefined) return canonical;
  let time: number;
  if (value.S !== undefined) time = isoTime(value.S, field);
  else if (value.N !== undefined) time = epochTime(value.N, field);
  else throw new ViewError(`${field}: a timestamp must be an ISO 8601 string or an epoch number`);
  if (Number.isNaN(time)) throw new ViewError(`${field}: ${JSON.stringify(value.S ?? value.N)} is not a timestamp`);
  if (time < EARLIEST || time >= LATEST)
    throw new ViewError(`${field}: ${JSON.stringify(value.S ?? value.N)} is outside 1900-01-01 to 2299-12-31`);
  return new Date(time).toISOString().replace('T', ' ').replace('Z', '');
}

export function readField(image: DynamoImage, name: string, mapping: FieldMapping): FieldValue {
  const value = lookup(image, mapping.attribute);
  if (value === undefined || value.NULL) {
    if (mapping.default === undefined) return null;
    return readField({ v: defaultValue(mapping) }, name, { ...mapping, attribute: 'v', default: undefined });
  }
  try {
    switch (mapping.type) {
      case 'string':
        if (value.S !== undefined) return value.S;
        if (value.N !== undefined) return value.N;
        throw new ViewError(`${name}: expected a string attribute`);
      case 'decimal':
      case 'integer': {
        const text = value.N ?? value.S;
        if (text === undefined) throw new ViewError(`${name}: expected a number attribute`);
        return normalizeDecimal(text, mapping.type === 'integer' ? 0 : (mapping.scale ?? 2));
      }
      case 'timestamp':
        return timestamp(value, name);
      case 'boolean':
        if (value.BOOL === undefined) throw new ViewError(`${name}: expected a boolean attribute`);
        return value.BOOL;
    }
  } catch (error) {
    if (error instanceof DecimalError) throw new ViewError(`${name}: ${error.message}`);
    throw error;
  }
}

function defaultValue(mapping: FieldMapping): DynamoValue {
  const value = mapping.default!;
  if (typeof value === 'boolean') return { BOOL: value };
  return mapping.type === 'string' || mapping.type === 'timestamp' ? { S: String(value) } : { N: String(value) };
}

/** Reads every field of a view; throws ViewError for the first field that does not fit. */
export function readView(image: DynamoImage, view: EntityView): Record<string, FieldValue> {
  return Object.fromEntries(Object.entries(view).map(([name, mapping]) => [name, readField(image, name, mapping)]));
}
