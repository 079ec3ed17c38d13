import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../core/aws.ts';
import type { ShardlineConfig } from '../config/schema.ts';
import { endpointsFromEnv } from '../../stack/endpoints.ts';
import { stackUp } from '../../stack/stack.ts';
import { awsOf } from '../pipeline.ts';
import { SINKS } from '../sinks.ts';
import { startPipeline, type RunningPipeline } from '../commands/run.ts';
import { CliError, EXIT, untilSignal } from '../context.ts';
import { LiveScreen } from '../screen.ts';
import { samplePipeline, type PipelineSample } from './pipeline-sample.ts';
import { demoScreenLines } from './screen.ts';
import { OrdersWorkload, createOrdersTable, type DailySalesRow } from './workload.ts';

export interface DemoOptions {
  /** Seconds of workload; undefined runs until Ctrl-C. */
  durationSeconds?: number;
  /** Operations a second. */
  rate: number;
  /** After the workload, wait until the rollups equal the workload's ground truth and exit 1 if they never do. */
  check: boolean;
  seed: number;
}

async function recreateTable(dynamodb: DynamoDBClient, table: string): Promise<void> {
  const exists = await dynamodb.send(new DescribeTableCommand({ TableName: table })).then(
    () => true,
    () => false,
  );
  if (exists) await dynamodb.send(new DeleteTableCommand({ TableName: table }));
  await createOrdersTable(dynamodb, table);
}

/** Each run gets its own topics, groups and checkpoints, so a run never sees an earlier run's events. */
function demoConfig(config: ShardlineConfig, run: string): ShardlineConfig {
  const prefix = `shardline-demo-${run}`;
  return {
    ...config,
    connector: {
      ...config.connector,
      name: prefix,
      topics: {
        ...config.connector.topics,
        template: `${prefix}.{table}.{entity}`,
        checkpoints: `${prefix}.checkpoints`,
        deadLetter: `${prefix}.dlq`,
      },
    },
    consumers: {
      ...config.consumers,
      rollups: { ...config.consumers.rollups, groupId: `${prefix}-rollups` },
      audit: { ...config.consumers.audit, groupId: `${prefix}-audit` },
      search: { ...config.consumers.search, groupId: `${prefix}-search`, indexPrefix: prefix },
      cache: { ...config.consumers.cache, groupId: `${prefix}-cache`, keyPrefix: prefix },
    },
  };
}

async function dailySales(pipeline: RunningPipeline): Promise<DailySalesRow[]> {
  const result = await pipeline.clickhouse!.query({
    query: 'SELECT day, category, order_count, revenue FROM daily_sales',
    format: 'JSONEachRow',
  });
  return result.json<DailySalesRow>();
}

/** The README's start command: the local stack, an `orders` table under a steady workload, and the whole pipeline. */
export async function runDemo(baseConfig: ShardlineConfig, options: DemoOptions): Promise<number> {
  if (baseConfig.connector.tables.length === 0)
    throw new CliError(
      'the demo writes to the first table named in connector.tables, and this config names none (discovery rules only): add one, e.g. `- name: orders`',
      EXIT.config,
    );
  if (!endpointsFromEnv()) await stackUp((message) => console.log(`stack: ${message}`));
  const run = Date.now().toString(36);
  const config = demoConfig(baseConfig, run);
  const table = config.connector.tables[0]!.name;
  // The embedded ClickHouse directory belongs to the demo: each run starts from an empty one.
  if (!config.clickhouse.url) rmSync(config.clickhouse.path, { recursive: true, force: true });
  const dynamodb = createDynamoDb(awsOf(config));
  await recreateTable(dynamodb, table);
  const workload = new OrdersWorkload(dynamodb, table, options.seed);
  // Orders that exist before the pipeline starts reach it through the initial snapshot.
  for (let index = 0; index < 40; index++) await workload.createOrder();

  const pipeline = await startPipeline(config, { connector: true, sinks: SINKS, register: 'demo' });
  // Like `top` on a terminal; plain periodic frames in check mode or when the output is not a terminal.
  const screen = new LiveScreen(process.stdout, Boolean(process.stdout.isTTY) && !options.check);
  let stopping = false;
  const signal = untilSignal().then(() => {
    stopping = true;
  });
  const started = Date.now();
  const deadline = options.durationSeconds === undefined ? Infinity : started + options.durationSeconds * 1000;
  let lastRender = 0;
  let before: PipelineSample | undefined;
  const groupNames = new Map(
    pipeline.groups.map((group) => [group.groupId, group.groupId.replace(`${config.connector.name}-`, '')]),
  );
  const render = async (sales: DailySalesRow[]) => {
    const now = await samplePipeline([...groupNames.keys()]);
    const parts = pipeline.health();
    const footer = screen.tty
      ? ['', 'Ctrl-C stops; the data stays queryable: npx shardline query "SELECT * FROM daily_sales"']
      : [];
    screen.draw([
      ...demoScreenLines({
        groupNames,
        now,
        before,
        workload: { operations: workload.operations, orders: workload.orders.size },
        sales,
        salesRows: 14,
        parts,
      }),
      ...footer,
    ]);
    before = now;
  };
  try {
    while (!stopping && Date.now() < deadline) {
      await workload.step();
      if (Date.now() - lastRender > (screen.tty ? 1_000 : 5_000)) {
        lastRender = Date.now();
        await render(await dailySales(pipeline));
      }
      await sleep(1000 / options.rate);
    }
    if (!options.check) {
      if (!stopping) await Promise.race([signal, pipeline.failed]);
      return 0;
    }
    // Check mode: the rollup must come to equal the ground truth of the workload that ran.
    const expected = workload.expectedDailySales();
    const until = Date.now() + 90_000;
    let shown = await dailySales(pipeline);
    while (JSON.stringify(shown) !== JSON.stringify(expected) && Date.now() < until && !stopping) {
      await sleep(500);
      shown = await dailySales(pipeline);
    }
    await render(shown);
    const equal = JSON.stringify(shown) === JSON.stringify(expected);
    console.log(
      equal
        ? `daily_sales equals the ground truth of the workload (${expected.length} rows, ${workload.operations} operations)`
        : `daily_sales differs from the ground truth:\n${JSON.stringify({ shown, expected }, null, 1)}`,
    );
    return equal ? 0 : 5;
  } finally {
    screen.close();
    await pipeline.stop();
    dynamodb.destroy();
    console.log(
      `stopped. Query the results: npx shardline query "SELECT * FROM daily_sales" (ClickHouse data in ${config.clickhouse.url ?? config.clickhouse.path})`,
    );
  }
}
