import { ConversionError, type DynamoImage } from '../../schemas/change-event.ts';

/**
 * How a table's items get their entity name:
 * - `key-prefix`: the part of an attribute (the partition key by default) before the separator,
 *   lower-cased; single-table designs (`ORDER#123` -> `order`).
 * - `attribute`: the value of an item attribute (such as `type`), from the new or old image.
 * - `fixed`: one name for the whole table.
 * `declared` lists the entities whose topics consumer groups read; a change of any other entity, or one
 * the rule cannot name, goes to the configured `fallback` entity, else to the dead-letter topic (a
 * ConversionError): never to a topic per item or a topic nobody reads.
 */
export type EntityRule = (
  | { kind: 'key-prefix'; attribute: string; separator: string; fallback?: string }
  | { kind: 'attribute'; attribute: string; fallback: string }
  | { kind: 'fixed'; name: string }
) & { declared?: readonly string[] };

export function entityOf(rule: EntityRule, keys: DynamoImage, image: DynamoImage | null): string {
  // A fallback that is not declared itself would lead to a topic nobody reads as well.
  const configured = 'fallback' in rule ? rule.fallback : undefined;
  const fallback =
    configured !== undefined && (!rule.declared || rule.declared.includes(configured)) ? configured : undefined;
  let entity: string;
  try {
    entity = nameOf(rule, keys, image);
  } catch (error) {
    if (fallback === undefined) throw error;
    return fallback;
  }
  if (!rule.declared || rule.declared.includes(entity)) return entity;
  if (fallback !== undefined) return fallback;
  throw new ConversionError(
    `entity "${entity}" is not one of the declared entities (${rule.declared.join(', ')}): no consumer group reads its topic`,
  );
}

function nameOf(rule: EntityRule, keys: DynamoImage, image: DynamoImage | null): string {
  switch (rule.kind) {
    case 'fixed':
      return rule.name;
    case 'key-prefix': {
      const value = keys[rule.attribute]?.S ?? image?.[rule.attribute]?.S;
      if (value === undefined)
        throw new ConversionError(
          `${rule.attribute} is not a string attribute of the key: the key-prefix rule cannot name the entity`,
        );
      const cut = value.indexOf(rule.separator);
      if (cut < 0)
        throw new ConversionError(
          `${rule.attribute} ${JSON.stringify(value)} has no ${JSON.stringify(rule.separator)}: the key-prefix rule cannot name the entity`,
        );
      if (cut === 0)
        throw new ConversionError(
          `${rule.attribute} ${JSON.stringify(value)} has no entity before ${JSON.stringify(rule.separator)}`,
        );
      return value.slice(0, cut).toLowerCase();
    }
    case 'attribute': {
      const value = image?.[rule.attribute]?.S;
      if (!value) throw new ConversionError(`the item has no string attribute ${rule.attribute}`);
      return value.toLowerCase();
    }
  }
}

/** The parts of DynamoDB's DescribeTable answer that say what the key is. */
export interface KeySchema {
  KeySchema?: ReadonlyArray<{ AttributeName?: string }>;
  AttributeDefinitions?: ReadonlyArray<{ AttributeName?: string; AttributeType?: string }>;
}

/**
 * At start: a key-prefix rule must name a string key attribute of the table, else every change would be
 * a dead letter. Throws naming the table and the config key (`configKey`, e.g. `connector.tables[0].entity`).
 */
export function checkEntityRule(table: string, rule: EntityRule, schema: KeySchema, configKey: string): void {
  if (rule.kind !== 'key-prefix') return;
  const keys = (schema.KeySchema ?? []).map((element) => element.AttributeName);
  const where = `table ${table}: ${configKey}.keyPrefix.attribute ${rule.attribute}`;
  if (!keys.includes(rule.attribute))
    throw new Error(`${where} is not a key attribute (the keys are ${keys.join(', ')})`);
  const type = schema.AttributeDefinitions?.find(
    (definition) => definition.AttributeName === rule.attribute,
  )?.AttributeType;
  if (type !== 'S') throw new Error(`${where} is a key attribute of type ${type}; the key-prefix rule needs type S`);
}
