import type { DynamoImage, DynamoValue } from './change-event.ts';
import { DecimalError, normalizeDecimal } from './decimal.ts';

/**
 * Typed views of an entity: declared mappings from attributes of the lossless image to typed fields
 * (an order's `total` as a decimal, `created_at` as a timestamp). Nothing is guessed: a value that
 * does not fit its declared type is an error naming the field, and the record goes to the dead-letter topic.
 */
export type FieldType = 'string' | 'decimal' | 'integer' | 'timestamp' | 'boolean';

export interface FieldMapping {
  /** Attribute name, or a dotted path into nested maps (`address.city`). */
  attribute: string;
  type: FieldType;
  /** Decimal places for `decimal` fields. */
  scale?: number;
  /** Used when the attribute is absent (or NULL). */
  default?: string | number | boolean;
}

export type EntityView = Record<string, FieldMapping>;
export type FieldValue = string | boolean | null;

export class ViewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViewError';
  }
}

function lookup(image: DynamoImage, path: string): DynamoValue | undefined {
  const [head, ...rest] = path.split('.');
  let value: DynamoValue | undefined = image[head!];
  for (const part of rest) value = value?.M?.[part];
  return value;
}

/** An ISO 8601 string or epoch seconds, as ClickHouse DateTime64(6) text in UTC. */
function timestamp(value: DynamoValue, field: string): string {
  let date: Date;
  if (value.S !== undefined) date = new Date(value.S);
  else if (value.N !== undefined) date = new Date(Number(value.N) * 1000);
  else throw new ViewError(`${field}: a timestamp must be an ISO 8601 string or epoch seconds`);
  if (Number.isNaN(date.getTime())) throw new ViewError(`${field}: ${JSON.stringify(value.S ?? value.N)} is not a timestamp`);
  return date.toISOString().replace('T', ' ').replace('Z', '');
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
