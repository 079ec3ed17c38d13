import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../../core/logger.ts';
import { resolveRules, type TableRule } from './rules.ts';
import { listTables } from './table-listing.ts';

/** A matching table that cannot start yet (no stream, a stream without both images, a key its rule cannot read). */
export class TableNotReady extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableNotReady';
  }
}

export interface TableDiscoveryOptions<Rule extends TableRule> {
  dynamodb: DynamoDBClient;
  /** The discovery rules, in the config's order. */
  rules: readonly Rule[];
  /** Tables the config names: their own entries hold. */
  named: ReadonlySet<string>;
  /** Starts a table a rule newly matches; throws TableNotReady to be asked again at the next round. */
  start: (table: string, rule: Rule) => Promise<void>;
  logger: Logger;
}

/**
 * One round lists the tables, matches them against the rules and starts each new match. A started table
 * stays started when it no longer matches (a tag removed, the table deleted): what its stream holds is read
 * on until the stream ends, and the change is logged. A table that cannot start yet is warned about once
 * and tried again every round.
 */
export class TableDiscovery<Rule extends TableRule> {
  /** Tables started, with the rule that matched them. */
  readonly started = new Map<string, Rule>();
  private readonly notReady = new Map<string, string>();
  private matching = new Set<string>();

  constructor(private readonly options: TableDiscoveryOptions<Rule>) {}

  async round(): Promise<void> {
    const { dynamodb, rules, named, start, logger } = this.options;
    const found = resolveRules(
      rules,
      await listTables(
        dynamodb,
        rules.some((rule) => rule.tag),
      ),
      named,
    );
    const matching = new Set(found.map(({ table }) => table));
    for (const table of this.matching)
      if (!matching.has(table) && this.started.has(table))
        logger.warn(
          { table },
          'table no longer matches a discovery rule (or was deleted); its stream is read on until it ends',
        );
    this.matching = matching;
    for (const { table, rule } of found) {
      if (this.started.has(table)) continue;
      try {
        await start(table, rule);
      } catch (error) {
        if (!(error instanceof TableNotReady)) throw error;
        if (this.notReady.get(table) !== error.message)
          logger.warn({ table }, `discovered table not started yet, checked again every round: ${error.message}`);
        this.notReady.set(table, error.message);
        continue;
      }
      this.notReady.delete(table);
      this.started.set(table, rule);
      logger.info({ table }, 'discovered table started');
    }
  }
}
