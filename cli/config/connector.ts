import type { ConnectorConfig, TableConfig } from '../../connector/config.ts';
import type { ReportProblem } from '../../core/config/common.ts';
import type { EntityRule } from '../../connector/events/entity.ts';

/** A table's entity rule as the sources take it, naming the entities whose topics exist (others go to the fallback or the DLQ). */
function entityRuleOf(rule: TableConfig['entity'], declared: string[]): EntityRule {
  if ('keyPrefix' in rule) return { kind: 'key-prefix', ...rule.keyPrefix, declared };
  if ('attribute' in rule)
    return { kind: 'attribute', attribute: rule.attribute.name, fallback: rule.attribute.fallback, declared };
  return { kind: 'fixed', name: rule.fixed, declared };
}

/** A `connector.tables` entry as the connector takes it: its entities, its entity rule, and where it is in the file. */
function settled(table: TableConfig, index: number, entities: string[]) {
  const declared = table.entities.length > 0 ? table.entities : entities;
  return { ...table, index, entities: declared, entity: entityRuleOf(table.entity, declared) };
}

type SettledEntry = ReturnType<typeof settled>;

/**
 * The connector block as the connector takes it, once the entities are known: the tables named (`tables`) and
 * the discovery rules (`discovery.rules`), each with its entities (declared on the entry, else every configured
 * entity) and its entity rule, and the start position of new streams.
 */
export function connectorSettings(connector: ConnectorConfig, entities: string[]) {
  const entries = connector.tables.map((table, index) => settled(table, index, entities));
  return {
    ...connector,
    // With a snapshot, the stream starts at its oldest record: nothing between scan and stream is missed.
    startPosition:
      connector.startPosition === 'latest' && !connector.tables.some((table) => table.snapshot.enabled)
        ? ('LATEST' as const)
        : ('TRIM_HORIZON' as const),
    tables: entries.filter((entry): entry is SettledEntry & { name: string } => entry.name !== undefined),
    discovery: { ...connector.discovery, rules: entries.filter((entry) => entry.name === undefined) },
  };
}

/** A table's fallback entity needs a topic that consumer groups read: one of the table's entities. */
export function checkFallbacks(connector: ReturnType<typeof connectorSettings>, report: ReportProblem): void {
  for (const { entity, entities, index } of [...connector.tables, ...connector.discovery.rules]) {
    if (entity.kind === 'key-prefix' && entity.fallback !== undefined && !entities.includes(entity.fallback)) {
      report(
        ['tables', index, 'entity', 'keyPrefix', 'fallback'],
        `'${entity.fallback}' is not one of the table's entities (${entities.join(', ')})`,
      );
    }
  }
}
