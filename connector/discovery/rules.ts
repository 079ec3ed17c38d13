import { tablePatternRegExp } from './table-pattern.ts';

/** What a discovery rule asks of a table: its name fits a pattern, or it carries a tag. */
export interface TableRule {
  match?: string;
  tag?: { key: string; value: string };
}

/** A listed table: its name, and its tags when a tag rule asked for them. */
export interface ListedTable {
  name: string;
  tags?: ReadonlyMap<string, string>;
  /** Why its tags could not be read (the credentials refused it): no tag rule takes it until they can be. */
  tagsRefused?: string;
}

export function ruleMatches(rule: TableRule, table: ListedTable): boolean {
  if (rule.match !== undefined) return tablePatternRegExp(rule.match).test(table.name);
  if (rule.tag !== undefined) return table.tags?.get(rule.tag.key) === rule.tag.value;
  return false;
}

/**
 * The listed tables the rules take, each with the first rule that takes it (rules apply in the order of
 * the config, so a table two rules match gets the first one's settings). Tables named in the config are
 * left out: their own entry holds. Sorted by name, so every instance and process sees one order.
 */
export function resolveRules<Rule extends TableRule>(
  rules: readonly Rule[],
  listed: readonly ListedTable[],
  named: ReadonlySet<string>,
): { table: string; rule: Rule }[] {
  return listed
    .filter((table) => !named.has(table.name))
    .flatMap((table) => {
      const rule = rules.find((candidate) => ruleMatches(candidate, table));
      return rule ? [{ table: table.name, rule }] : [];
    })
    .sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
}
