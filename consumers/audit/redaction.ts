import { createHash } from 'node:crypto';
import type { DynamoImage } from '../../schemas/change-event.ts';
import { plainImage } from '../../schemas/plain.ts';

/** What happens to a sensitive field before it is stored: removed, replaced, or replaced by a keyed hash. */
export type RedactionRule = 'drop' | 'mask' | 'hash';
export type Redactions = Record<string, RedactionRule>;

const MASK = '***';

/** A salted SHA-256, so equal values stay comparable in the log without being readable. */
export const hashValue = (value: unknown, salt: string): string =>
  `sha256:${createHash('sha256').update(salt).update(JSON.stringify(value)).digest('hex')}`;

const replacement = (rule: 'mask' | 'hash', value: unknown, salt: string): string =>
  rule === 'mask' ? MASK : hashValue(value, salt);

/** Applies the rules to a plain item (field -> value); fields without a rule pass unchanged. */
/** No rules at all (the default): images and keys pass as they are, without a copy per change. */
function none(rules: Redactions): boolean {
  for (const _field in rules) return false;
  return true;
}

export function redact(
  item: Record<string, unknown> | null,
  rules: Redactions,
  salt: string,
): Record<string, unknown> | null {
  if (!item || none(rules)) return item;
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(item)) {
    const rule = rules[field];
    if (rule === 'drop') continue;
    out[field] = rule ? replacement(rule, value, salt) : value;
  }
  return out;
}

/**
 * Applies the rules to an item's key attributes, keeping it a key image: a redacted attribute becomes
 * the string its rule gives (the same text as in the redacted images), a dropped one is left out.
 */
export function redactKeys(keys: DynamoImage, rules: Redactions, salt: string): DynamoImage {
  if (none(rules)) return keys;
  const plain = plainImage(keys)!;
  const out: DynamoImage = {};
  for (const [name, value] of Object.entries(keys)) {
    const rule = rules[name];
    if (rule === 'drop') continue;
    out[name] = rule ? { S: replacement(rule, plain[name], salt) } : value;
  }
  return out;
}
