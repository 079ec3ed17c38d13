import type { ChangeEvent } from '../../schemas/change-event.ts';
import { readField, type EntityView, type FieldMapping } from '../../schemas/views.ts';
import type { DocumentTransform } from './config.ts';

/** What every document carries besides its fields: where it came from and its version state. */
export const SYSTEM_FIELDS = {
  table: { type: 'keyword' },
  key: { type: 'keyword' },
  shardline_version: { type: 'keyword' },
  shardline_deleted: { type: 'boolean' },
} as const;

function fieldMapping(mapping: FieldMapping): Record<string, unknown> {
  switch (mapping.type) {
    // scaled_float indexes the amount for ranges and sums; _source keeps the exact decimal string.
    case 'decimal':
      return { type: 'scaled_float', scaling_factor: 10 ** (mapping.scale ?? 2) };
    case 'integer':
      return { type: 'long' };
    case 'timestamp':
      return { type: 'date', format: 'yyyy-MM-dd HH:mm:ss.SSS||strict_date_optional_time||epoch_millis' };
    case 'boolean':
      return { type: 'boolean' };
    case 'string':
      return { type: 'keyword', fields: { text: { type: 'text' } } };
  }
}

const fieldsOf = (view: EntityView, transform: DocumentTransform): string[] => transform.fields ?? Object.keys(view);

/** The explicit index mapping for an entity's documents, derived from its declared fields. */
export function mappingFor(view: EntityView, transform: DocumentTransform): Record<string, unknown> {
  const properties: Record<string, unknown> = { ...SYSTEM_FIELDS };
  for (const field of fieldsOf(view, transform))
    properties[transform.rename[field] ?? field] = fieldMapping(view[field]!);
  if (transform.text.length > 0) properties.text = { type: 'text' };
  return { dynamic: 'strict', properties };
}

/** The search document of an item's new image; throws ViewError for a field that does not fit. */
export function documentFor(
  event: ChangeEvent,
  key: string,
  view: EntityView,
  transform: DocumentTransform,
): Record<string, unknown> {
  const document: Record<string, unknown> = { table: event.table, key };
  const values: Record<string, unknown> = {};
  for (const field of fieldsOf(view, transform)) {
    values[field] = readField(event.after!, field, view[field]!);
    document[transform.rename[field] ?? field] = values[field];
  }
  if (transform.text.length > 0)
    document.text = transform.text
      .map((field) => values[field] ?? '')
      .filter((value) => value !== null && value !== '')
      .join(' ');
  return document;
}

/** Document ids from the table and the item key: every change of an item lands on one document. */
export const documentId = (table: string, key: string): string => `${table}:${key}`;
