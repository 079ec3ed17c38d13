import type { DynamoImage } from '../../schemas/change-event.ts';

/**
 * How a table's items get their entity name:
 * - `key-prefix`: the part of an attribute (the partition key by default) before the separator,
 *   lower-cased; single-table designs (`ORDER#123` -> `order`).
 * - `attribute`: the value of an item attribute (such as `type`), from the new or old image.
 * - `fixed`: one name for the whole table.
 */
export type EntityRule =
  | { kind: 'key-prefix'; attribute: string; separator: string }
  | { kind: 'attribute'; attribute: string; fallback: string }
  | { kind: 'fixed'; name: string };

export function entityOf(rule: EntityRule, keys: DynamoImage, image: DynamoImage | null): string {
  switch (rule.kind) {
    case 'fixed':
      return rule.name;
    case 'key-prefix': {
      const value = keys[rule.attribute]?.S ?? image?.[rule.attribute]?.S;
      if (!value) return 'unknown';
      const cut = value.indexOf(rule.separator);
      return (cut < 0 ? value : value.slice(0, cut)).toLowerCase() || 'unknown';
    }
    case 'attribute': {
      const value = image?.[rule.attribute]?.S;
      return value ? value.toLowerCase() : rule.fallback;
    }
  }
}
