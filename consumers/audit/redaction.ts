import { createHash } from 'node:crypto';

/** What happens to a sensitive field before it is stored: removed, replaced, or replaced by a keyed hash. */
export type RedactionRule = 'drop' | 'mask' | 'hash';
export type Redactions = Record<string, RedactionRule>;

const MASK = '***';

/** A salted SHA-256, so equal values stay comparable in the log without being readable. */
export const hashValue = (value: unknown, salt: string): string =>
  `sha256:${createHash('sha256').update(salt).update(JSON.stringify(value)).digest('hex')}`;

/** Applies the rules to a plain item (field -> value); fields without a rule pass unchanged. */
export function redact(item: Record<string, unknown> | null, rules: Redactions, salt: string): Record<string, unknown> | null {
  if (!item) return item;
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(item)) {
    const rule = rules[field];
    if (rule === 'drop') continue;
    out[field] = rule === 'mask' ? MASK : rule === 'hash' ? hashValue(value, salt) : value;
  }
  return out;
}
