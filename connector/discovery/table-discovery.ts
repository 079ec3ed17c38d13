import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../../core/logger.ts';
import { isResourceNotFound } from '../shards/errors.ts';
import { isRefused } from './errors.ts';
import { resolveRules, type ListedTable, type TableRule } from './rules.ts';
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
 * and tried again every round. A table is known by its stream: one deleted and created again under its
 * name has a new stream, which is started as a new table is.
 */
export class TableDiscovery<Rule extends TableRule> {
  /** Tables started, with the rule that matched them and the stream they were started on. */
  readonly started = new Map<string, { rule: Rule; stream: string | undefined }>();
  private readonly notReady = new Map<string, string>();
  private matching = new Set<string>();
  private readonly tagsRefused = new Set<string>();

  constructor(private readonly options: TableDiscoveryOptions<Rule>) {}

  async round(): Promise<void> {
    const { dynamodb, rules, named, start, logger } = this.options;
    const listed = await listTables(
      dynamodb,
      rules.some((rule) => rule.tag),
    );
    this.warnTagsRefused(listed);
    const found = resolveRules(rules, listed, named);
    const matching = new Set(found.map(({ table }) => table));
    for (const table of this.matching)
      if (!matching.has(table) && this.started.has(table))
        logger.warn(
          { table },
          'table no longer matches a discovery rule (or was deleted); its stream is read on until it ends',
        );
    this.matching = matching;
    for (const { table, rule } of found) {
      let stream: string | undefined;
      try {
        stream = await this.streamOf(table);
        const before = this.started.get(table);
        if (before && before.stream === stream) continue;
        if (before) logger.warn({ table, stream }, 'discovered table was created again: its new stream is read');
        await start(table, rule);
      } catch (error) {
        const reason = notReadyReason(error);
        if (reason === undefined) throw error;
        if (this.notReady.get(table) !== reason)
          logger.warn({ table }, `discovered table not started yet, checked again every round: ${reason}`);
        this.notReady.set(table, reason);
        continue;
      }
      this.notReady.delete(table);
      this.started.set(table, { rule, stream });
      logger.info({ table, stream }, 'discovered table started');
    }
  }

  /** A table whose tags the credentials may not read is warned about once (while they may not). */
  private warnTagsRefused(listed: readonly ListedTable[]): void {
    for (const { name, tagsRefused } of listed) {
      if (tagsRefused === undefined) this.tagsRefused.delete(name);
      else if (!this.tagsRefused.has(name)) {
        this.tagsRefused.add(name);
        this.options.logger.warn(
          { table: name },
          `the credentials may not read the table's tags (${tagsRefused}): no tag rule takes it; checked again every round`,
        );
      }
    }
  }

  /** The stream a table writes to now (none when its stream is off). */
  private async streamOf(table: string): Promise<string | undefined> {
    const { Table } = await this.options.dynamodb.send(new DescribeTableCommand({ TableName: table }));
    return Table?.LatestStreamArn;
  }
}

/** Why a matching table is left for a later round, when the failure is about that table alone. */
function notReadyReason(error: unknown): string | undefined {
  if (error instanceof TableNotReady) return error.message;
  if (isResourceNotFound(error)) return 'the table is gone';
  // Only a refused listing ends the discovery: a policy on one table leaves that table out.
  if (isRefused(error)) return `the credentials may not read it (${(error as Error).name || 'HTTP 403'})`;
  return undefined;
}
