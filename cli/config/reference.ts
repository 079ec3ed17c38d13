import { z } from 'zod';

/**
 * The README's configuration reference, generated from the schema: one row a key, with its type, default
 * and the description the schema gives it. `npm run docs:config` writes it between the markers.
 */

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

export const REFERENCE_START =
  '<!-- config-reference:start (npm run docs:config writes this table from the schema) -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

const isRecord = (node: JsonSchema): boolean => typeof node.additionalProperties === 'object' && !node.properties;

/** A node's shape in one line: `a \| b`, `string[]`, `{ name, kind: sum, field }`. */
function shapeOf(node: JsonSchema): string {
  const variants = node.anyOf ?? node.oneOf;
  if (variants) return variants.map(shapeOf).join(' \\| ');
  if (node.enum) return node.enum.map(String).join(' \\| ');
  if (node.const !== undefined) return String(node.const);
  if (node.type === 'array' && node.items) {
    const item = shapeOf(node.items);
    return item.includes('|') ? `(${item})[]` : `${item}[]`;
  }
  if (isRecord(node)) return `{ <name>: ${shapeOf(node.additionalProperties as JsonSchema)} }`;
  if (node.properties) {
    const fields = Object.entries(node.properties).map(([key, child]) => {
      const shape =
        child.enum || child.const !== undefined || child.properties || child.anyOf ? `: ${shapeOf(child)}` : '';
      return `${key}${node.required?.includes(key) || child.default !== undefined ? '' : '?'}${shape}`;
    });
    return `{ ${fields.join(', ')} }`;
  }
  return Array.isArray(node.type) ? node.type.join(' \\| ') : (node.type ?? 'any');
}

/** A long default by its names: the rollups or entities shipped. */
function shortDefault(value: unknown): string {
  const text = JSON.stringify(value);
  if (text.length <= 60) return text;
  if (Array.isArray(value)) return value.map((item: { name?: string }) => item.name ?? '…').join(', ');
  return Object.keys(value as object).join(', ');
}

const cell = (text: string): string =>
  text
    .replace(/\|/g, (bar, offset: number, whole: string) => (whole[offset - 1] === '\\' ? bar : '\\|'))
    .replace(/\n/g, ' ');

/** Objects are opened key by key; everything else (unions, lists, maps of values) is one row. */
function rowsOf(node: JsonSchema, key: string, required: boolean): string[][] {
  const opened =
    node.properties && !node.anyOf
      ? Object.entries(node.properties).flatMap(([child, schema]) =>
          rowsOf(schema, key ? `${key}.${child}` : child, node.required?.includes(child) ?? false),
        )
      : node.type === 'array' && node.items?.properties
        ? rowsOf(node.items, `${key}[]`, true)
        : isRecord(node) && (node.additionalProperties as JsonSchema).properties
          ? rowsOf(node.additionalProperties as JsonSchema, `${key}.<name>`, true)
          : undefined;
  const defaultText = node.default === undefined ? (required ? 'required' : '—') : `\`${shortDefault(node.default)}\``;
  if (!opened) return [[`\`${key}\``, cell(`\`${shapeOf(node)}\``), cell(defaultText), cell(node.description ?? '')]];
  // An object with a description or a default of its own gets a row before its keys.
  const own =
    node.description || (node.default !== undefined && JSON.stringify(node.default) !== '{}')
      ? [[`\`${key}\``, node.type === 'array' ? 'list' : 'object', cell(defaultText), cell(node.description ?? '')]]
      : [];
  return [...own, ...opened];
}

/** The reference table of a config schema, as Markdown. */
export function configReference(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows = rowsOf(json, '', true);
  return [
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** The README with the reference between its markers replaced by `reference`. */
export function withReference(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error(`the README has no ${REFERENCE_START} ... ${REFERENCE_END} markers`);
  return `${readme.slice(0, start + REFERENCE_START.length)}\n${reference}\n${readme.slice(end)}`;
}
