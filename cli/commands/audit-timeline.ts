interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
}

const value = (field: unknown): string =>
  field === null || field === undefined ? '(none)' : typeof field === 'string' ? field : JSON.stringify(field);

const truthy = (flag: unknown): boolean => flag === true || flag === 1 || flag === '1' || flag === 'true';

/** Who made a change: a TTL delete is marked as such (DynamoDB deleted the item, not an application). */
function who(entry: Record<string, unknown>): string {
  const principal = [entry.user_type, entry.user_principal]
    .filter((part) => typeof part === 'string' && part !== '')
    .join(' ');
  if (truthy(entry.ttl_delete)) return `TTL delete${principal ? ` by ${principal}` : ''}`;
  return principal ? `by ${principal}` : '';
}

function changesOf(entry: Record<string, unknown>): FieldChange[] {
  if (Array.isArray(entry.changes)) return entry.changes as FieldChange[];
  try {
    return JSON.parse(String(entry.changes ?? '[]')) as FieldChange[];
  } catch {
    return [];
  }
}

/**
 * An audit history (rows of `auditHistory`, newest first) as a timeline to read: one block a change with
 * when, what and who, then each field as `status: new → paid`, and the event that carried it.
 */
export function auditTimeline(key: string, entries: Record<string, unknown>[]): string[] {
  if (entries.length === 0) return [`no audit entries for ${key}`];
  const keys = [...new Set(entries.map((entry) => String(entry.entity_key)))];
  const lines = [
    `${key}: ${entries.length} change${entries.length === 1 ? '' : 's'}, newest first${keys.length === 1 && keys[0] !== key ? ` (${keys[0]})` : ''}`,
  ];
  for (const entry of entries) {
    lines.push(
      '',
      [String(entry.at), String(entry.op), who(entry), keys.length > 1 ? String(entry.entity_key) : '']
        .filter(Boolean)
        .join('  '),
    );
    const changes = changesOf(entry);
    const width = Math.max(0, ...changes.map((change) => change.field.length));
    for (const change of changes)
      lines.push(`  ${`${change.field}:`.padEnd(width + 1)} ${value(change.old)} → ${value(change.new)}`);
    if (changes.length === 0) lines.push('  (no field changed)');
    lines.push(
      `  event ${String(entry.event_id)} · shard ${String(entry.source_shard)} · sequence ${String(entry.source_sequence)}`,
    );
  }
  return lines;
}
