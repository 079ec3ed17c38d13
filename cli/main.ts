import { Command, InvalidArgumentError } from 'commander';
import { ConfigurationError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { runStackCommand } from '../stack/cli.ts';
import { auditHistory, querySql } from './commands/query.ts';
import { startPipeline } from './commands/run.ts';
import { checkSchemas, registerSchemas } from './commands/schemas.ts';
import { status } from './commands/status.ts';
import { reindexEntity } from './commands/search.ts';
import { reconcile } from './commands/reconcile.ts';
import { listDeadLetters, replayDeadLetters } from './commands/dlq.ts';
import { CliError, EXIT, configFrom, untilSignal } from './context.ts';
import { runDemo } from './demo/demo.ts';
import { selectedSinks, SINK_NAMES, type SinkName } from './pipeline.ts';

const positive = (value: string): number => {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number');
  return number;
};

const program = new Command()
  .name('shardline')
  .description(`DynamoDB Streams and Kinesis changes into Kafka, and exactly-once sinks: ${SINK_NAMES.join(', ')}`)
  .option('-c, --config <file>', 'configuration file (default: ./shardline.yaml when present)')
  .showHelpAfterError()
  .exitOverride();

const config = () => configFrom(program.opts<{ config?: string }>().config);

/**
 * Runs until Ctrl-C or SIGTERM, then stops cleanly (the connector commits what it read). A part that
 * stops on an error it cannot retry stops the process with exit 1 and the cause.
 */
async function serve(connector: boolean, sinks: (config: ReturnType<typeof configFrom>) => SinkName[]): Promise<number> {
  const loaded = config();
  const pipeline = await startPipeline(loaded, { connector, sinks: sinks(loaded) });
  logger.info({ connector, groups: pipeline.groups.map((group) => group.groupId), http: `${loaded.http.host}:${loaded.http.port}` }, 'shardline running');
  const outcome = await Promise.race([untilSignal(), pipeline.failed.catch((error: unknown) => error as Error)]);
  await pipeline.stop();
  if (outcome instanceof Error) throw new CliError(outcome.message, EXIT.failure);
  return EXIT.ok;
}

const print = (rows: unknown[], json: boolean): void => {
  if (json) console.log(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) console.log('(no rows)');
  else console.table(rows);
};

let exitCode: number = EXIT.ok;
const set = (code: number): void => {
  exitCode = code;
};

program.command('connector').description('read the configured tables and write change events to Kafka').action(async () => set(await serve(true, () => [])));

program.command('consumer').description(`run consumer groups (${SINK_NAMES.join(', ')}); all enabled ones when none are named`)
  .argument('[sinks...]', 'sinks to run').action(async (sinks: string[]) => set(await serve(false, (loaded) => selectedSinks(loaded, sinks))));

program.command('run').description('the connector and every enabled consumer group in one process, each group independent')
  .action(async () => set(await serve(true, (loaded) => selectedSinks(loaded))));

program.command('stack').description('the local real-service stack (Kafka, registry, OpenSearch, Redis, moto)')
  .argument('<action>', 'up, down or status').option('--brokers <n>', 'Kafka brokers for up (1, or 3 for a replicated cluster)', positive)
  .action(async (action: string, options: { brokers?: number }) => set(await runStackCommand(action, options.brokers ? ['--brokers', String(options.brokers)] : [])));

program.command('demo').description('start the local stack, run an orders workload through the whole pipeline, and show the daily-sales rollup live')
  .option('--duration <seconds>', 'stop the workload after this long', positive)
  .option('--rate <ops>', 'operations a second', positive, 20)
  .option('--seed <n>', 'workload seed', positive, 1)
  .option('--check', 'after the workload, exit 0 only if the rollup equals the ground truth')
  .action(async (options: { duration?: number; rate: number; seed: number; check?: boolean }) =>
    set(await runDemo(config(), { durationSeconds: options.duration ?? (options.check ? 20 : undefined), rate: options.rate, seed: options.seed, check: Boolean(options.check) })));

program.command('query').description('read-only SQL against the rollups and the audit log')
  .argument('<sql>').option('--json', 'print JSON').action(async (sql: string, options: { json?: boolean }) => print(await querySql(config(), sql), Boolean(options.json)));

program.command('audit').description("an entity's change history, newest first")
  .argument('<key>', "canonical key (PK=S:ORDER#1|SK=S:ORDER#1) or a key value (ORDER#1)")
  .option('--limit <n>', 'entries', positive, 50).option('--json', 'print JSON')
  .action(async (key: string, options: { limit: number; json?: boolean }) => print(await auditHistory(config(), key, options.limit), Boolean(options.json)));

program.command('status').description('shard positions, iterator age, lag per group and partition, dead letters').option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const report = await status(config());
    if (options.json) return console.log(JSON.stringify(report, null, 2));
    console.log('shards:'); print(report.shards, false);
    if (report.shardLag.length > 0) { console.log('shard lag (from the running process):'); print(report.shardLag, false); }
    console.log('consumer groups:'); print(report.groups, false);
    console.log(`dead letters: ${report.deadLetters}`);
  });

const dlq = program.command('dlq').description('the dead-letter topic');
dlq.command('list').option('--limit <n>', 'records', positive, 100).option('--json', 'print JSON')
  .action(async (options: { limit: number; json?: boolean }) =>
    print((await listDeadLetters(config(), options.limit)).map(({ message: _message, ...letter }) => letter), Boolean(options.json)));
dlq.command('replay').description('put dead letters back once their cause is fixed: consumer letters on their topics, connector letters converted again')
  .option('--limit <n>', 'records', positive, 1000).option('--json', 'print JSON')
  .action(async (options: { limit: number; json?: boolean }) => {
    const loaded = config();
    const result = await replayDeadLetters(loaded, await listDeadLetters(loaded, options.limit));
    if (options.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`${result.replayed} replayed, ${result.failed.length} still failing (left in the dead-letter topic)`);
      if (result.failed.length > 0) print(result.failed, false);
    }
    if (result.failed.length > 0) set(EXIT.mismatch);
  });

program.command('reconcile').description('compare every rollup with the same rollup computed from a scan of the source tables (exit 5 on a difference)')
  .option('--json', 'print JSON').action(async (options: { json?: boolean }) => {
    const result = await reconcile(config());
    if (options.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`${result.rollups} rollups, ${result.groups} groups, ${result.differences.length} differences`);
      if (result.differences.length > 0) print(result.differences.map((difference) => ({ ...difference, group: JSON.stringify(difference.group), expected: JSON.stringify(difference.expected), actual: JSON.stringify(difference.actual) })), false);
    }
    if (result.differences.length > 0) set(EXIT.mismatch);
  });

const search = program.command('search').description('the OpenSearch documents');
search.command('reindex').description('build a new index for an entity from a replay of its topics, then move the alias to it')
  .argument('<entity>').option('--allow-partial', 'swap the alias even when a topic no longer holds its whole history')
  .action(async (entity: string, options: { allowPartial?: boolean }) =>
    console.log(await reindexEntity(config(), entity, (message) => console.log(message), { allowPartial: Boolean(options.allowPartial) })));

const schemas = program.command('schemas').description('the change-event schema in the registry');
schemas.command('register').action(async () => print(await registerSchemas(config()), false));
schemas.command('check').action(async () => {
  const results = await checkSchemas(config());
  print(results, false);
  if (results.some((result) => !result.compatible)) set(EXIT.mismatch);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = (error as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') exitCode = EXIT.ok;
  else if (typeof code === 'string' && code.startsWith('commander.')) exitCode = EXIT.usage;
  else if (error instanceof ConfigurationError) {
    console.error(error.message);
    exitCode = EXIT.config;
  } else if (error instanceof CliError) {
    console.error(error.message);
    exitCode = error.exitCode;
  } else {
    console.error((error as Error).message ?? error);
    exitCode = EXIT.failure;
  }
}
process.exitCode = exitCode;
// KafkaJS and the AWS SDK keep sockets open; a finished command must not wait for them.
setTimeout(() => process.exit(exitCode), 200).unref();
