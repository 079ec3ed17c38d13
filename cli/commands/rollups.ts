import type { Command } from 'commander';
import type { ShardlineConfig } from '../config/schema.ts';
import { aggregateDifferences, readerOf, rebuildRollup } from '../../consumers/rollups/consistency.ts';
import type { RollupDefinition } from '../../consumers/rollups/definition.ts';
import { itemsTable } from '../../consumers/rollups/items-table.ts';
import { CliError, EXIT } from '../context.ts';
import { clickhouseOf, kafkaOf, viewsOf } from '../pipeline.ts';

export interface RebuildResult {
  rollup: string;
  /** Items whose state the rebuilt table holds (deleted ones included: their versions still count). */
  items: number;
  /** Groups where the aggregate differed from the sum over the state, before and after. */
  differencesBefore: number;
  differencesAfter: number;
}

/** `shardline rollups …`, registered on the program. */
export function rollupsCommand(program: Command, config: () => ShardlineConfig): void {
  const rollups = program.command('rollups').description('the ClickHouse rollups');
  rollups
    .command('rebuild')
    .description("rebuild a rollup's aggregate from its items' state (with the rollups group stopped)")
    .argument('<name>', 'the rollup (daily_sales, user_totals, or one of consumers.rollups.definitions)')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const result = await rebuildByName(config(), name);
      console.log(
        options.json
          ? JSON.stringify(result, null, 2)
          : `${result.rollup}: rebuilt from the state of ${result.items} items; aggregate groups that differed from the state: ${result.differencesBefore} before, ${result.differencesAfter} after`,
      );
    });
}

/**
 * Rebuilds one rollup from its state. Refused while the rollups group has members: a change applied during
 * the rebuild would be written to the table being replaced and lost.
 */
export async function rebuildByName(config: ShardlineConfig, name: string): Promise<RebuildResult> {
  const definitions: RollupDefinition[] = config.consumers.rollups.definitions;
  const rollup = definitions.find((definition) => definition.name === name);
  if (!rollup)
    throw new CliError(
      `no rollup named ${name}; configured: ${definitions.map((definition) => definition.name).join(', ')}`,
      EXIT.usage,
    );
  await refuseWhileRunning(config);
  const view = viewsOf(config)[rollup.entity]!;
  const clickhouse = await clickhouseOf(config);
  try {
    const read = readerOf(clickhouse);
    const [found] = await read(
      `SELECT count() AS tables FROM system.tables WHERE database = currentDatabase() AND name = '${itemsTable(rollup)}'`,
    );
    if (Number(found?.tables) === 0)
      throw new CliError(
        `rollup ${name} has no table ${itemsTable(rollup)} in this ClickHouse yet: nothing to rebuild`,
        EXIT.failure,
      );
    const before = await aggregateDifferences(read, rollup, view);
    const { items } = await rebuildRollup(clickhouse, rollup);
    const after = await aggregateDifferences(read, rollup, view);
    return { rollup: name, items, differencesBefore: before.length, differencesAfter: after.length };
  } finally {
    await clickhouse.close();
  }
}

async function refuseWhileRunning(config: ShardlineConfig): Promise<void> {
  const { groupId } = config.consumers.rollups;
  const admin = kafkaOf(config, 'rollups-rebuild').admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const members = groups[0]?.members.length ?? 0;
    if (members > 0)
      throw new CliError(
        `the rollups group ${groupId} has ${members} running member(s): stop them first (shardline status shows where they run)`,
        EXIT.failure,
      );
  } finally {
    await admin.disconnect();
  }
}
