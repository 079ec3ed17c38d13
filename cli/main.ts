import { Command, InvalidArgumentError } from 'commander';
import { ConfigurationError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { runStackCommand } from '../stack/cli.ts';
import { auditHistory, querySql } from './commands/query.ts';
import { startPipeline } from './commands/run.ts';
import { checkSchemas, registerSchemas } from './commands/schemas.ts';
import { status, type StatusReport } from './commands/status.ts';
import { statusLines } from './commands/status-view.ts';
import { auditTimeline } from './commands/audit-timeline.ts';
import { formatTable } from './format.ts';
import { LiveScreen } from './screen.ts';
import { Progress } from '../core/progress.ts';
import { reindexEntity } from './commands/search.ts';
import { reconcile } from './commands/reconcile.ts';
import { rollupsCommand } from './commands/rollups.ts';
import { listDeadLetters, replayDeadLetters } from './commands/dlq.ts';
import { CliError, EXIT, configFrom, untilSignal } from './context.ts';
import { runDemo } from './demo/demo.ts';
import type { SinkDefinition } from '../consumers/runtime/sink-definition.ts';
import { selectedSinks, usesClickHouse } from './pipeline.ts';
import { SINK_NAMES, SINKS } from './sinks.ts';

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
async function serve(
  command: string,
  connector: boolean,
  sinks: (config: ReturnType<typeof configFrom>) => SinkDefinition[],
): Promise<number> {
  const loaded = config();
  const pipeline = await startPipeline(loaded, { connector, sinks: sinks(loaded), register: command });
  logger.info(
    {
      connector,
      groups: pipeline.groups.map((group) => group.groupId),
      http: `${loaded.http.host}:${loaded.http.port}`,
    },
    'shardline running',
  );
  const outcome = await Promise.race([untilSignal(), pipeline.failed.catch((error: unknown) => error as Error)]);
  await pipeline.stop();
  if (outcome instanceof Error) throw new CliError(outcome.message, EXIT.failure);
  logger.info({ signal: outcome }, 'shardline stopped');
  return EXIT.ok;
}

const print = (rows: readonly object[], json: boolean): void => {
  if (json) console.log(JSON.stringify(rows, null, 2));
  else console.log(formatTable(rows).join('\n'));
};

let exitCode: number = EXIT.ok;
const set = (code: number): void => {
  exitCode = code;
};

program
  .command('connector')
  .description('read the configured tables and write change events to Kafka')
  .action(async () => set(await serve('connector', true, () => [])));

program
  .command('consumer')
  .description(`run consumer groups (${SINK_NAMES.join(', ')}); all enabled ones when none are named`)
  .argument('[sinks...]', 'sinks to run')
  .action(async (sinks: string[]) => set(await serve('consumer', false, (loaded) => selectedSinks(loaded, sinks))));

program
  .command('run')
  .description('the connector and every enabled consumer group in one process, each group independent')
  .action(async () => set(await serve('run', true, (loaded) => selectedSinks(loaded))));

program
  .command('stack')
  .description('the local real-service stack (Kafka, registry, OpenSearch, Redis, moto)')
  .argument('<action>', 'up, down or status')
  .option('--brokers <n>', 'Kafka brokers for up (1, or 3 for a replicated cluster)', positive)
  .action(async (action: string, options: { brokers?: number }) =>
    set(await runStackCommand(action, options.brokers ? ['--brokers', String(options.brokers)] : [])),
  );

program
  .command('demo')
  .description(
    'start the local stack, run an orders workload through the whole pipeline, and show the daily-sales rollup live',
  )
  .option('--duration <seconds>', 'stop the workload after this long', positive)
  .option('--rate <ops>', 'operations a second', positive, 20)
  .option('--seed <n>', 'workload seed', positive, 1)
  .option('--check', 'after the workload, exit 0 only if the rollup equals the ground truth')
  .action(async (options: { duration?: number; rate: number; seed: number; check?: boolean }) =>
    set(
      await runDemo(config(), {
        durationSeconds: options.duration ?? (options.check ? 20 : undefined),
        rate: options.rate,
        seed: options.seed,
        check: Boolean(options.check),
      }),
    ),
  );

program
  .command('query')
  .description(
    `read-only SQL against the ClickHouse tables (${SINKS.filter(usesClickHouse)
      .map((sink) => sink.name)
      .join(', ')})`,
  )
  .argument('<sql>')
  .option('--json', 'print JSON')
  .action(async (sql: string, options: { json?: boolean }) =>
    print(await querySql(config(), sql), Boolean(options.json)),
  );

program
  .command('audit')
  .description(
    "an entity's change history as a timeline, newest first: when, who (TTL deletes marked), each field's change",
  )
  .argument('<key>', 'canonical key (PK=S:ORDER#1|SK=S:ORDER#1) or a key value (ORDER#1)')
  .option('--limit <n>', 'entries', positive, 50)
  .option('--json', 'print JSON')
  .action(async (key: string, options: { limit: number; json?: boolean }) => {
    const history = await auditHistory(config(), key, options.limit);
    if (options.json) console.log(JSON.stringify(history, null, 2));
    else console.log(auditTimeline(key, history).join('\n'));
  });

program
  .command('status')
  .description(
    'every shardline process on this machine: shards (iterator age, trim headroom), lag per group, dead letters, readiness',
  )
  .option('--json', 'print JSON')
  .option('--watch', 'refresh until Ctrl-C')
  .option('--interval <seconds>', 'refresh interval for --watch', positive, 2)
  .action(async (options: { json?: boolean; watch?: boolean; interval: number }) => {
    const loaded = config();
    if (!options.watch) {
      const report = await status(loaded);
      return console.log(options.json ? JSON.stringify(report, null, 2) : statusLines(report).join('\n'));
    }
    const screen = new LiveScreen();
    let stopping = false;
    void untilSignal().then(() => (stopping = true));
    let previous: { report: StatusReport; at: number } | undefined;
    try {
      while (!stopping) {
        const report = await status(loaded);
        const at = Date.now();
        if (options.json) console.log(JSON.stringify(report));
        else
          screen.draw([
            `shardline status  ${new Date(at).toISOString().slice(0, 19).replace('T', ' ')}  (every ${options.interval} s; Ctrl-C stops)`,
            '',
            ...statusLines(report, previous?.report, previous ? (at - previous.at) / 1000 : 0),
          ]);
        previous = { report, at };
        const wake = Date.now() + options.interval * 1000;
        while (!stopping && Date.now() < wake) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      screen.close();
    }
  });

const dlq = program.command('dlq').description('the dead-letter topic');
dlq
  .command('list')
  .option('--limit <n>', 'records', positive, 100)
  .option('--json', 'print JSON')
  .action(async (options: { limit: number; json?: boolean }) =>
    print(
      (await listDeadLetters(config(), options.limit)).map(({ message: _message, ...letter }) => letter),
      Boolean(options.json),
    ),
  );
dlq
  .command('replay')
  .description(
    'put dead letters back once their cause is fixed: consumer letters on their topics, connector letters converted again',
  )
  .option('--limit <n>', 'records', positive, 1000)
  .option('--json', 'print JSON')
  .action(async (options: { limit: number; json?: boolean }) => {
    const loaded = config();
    const letters = await listDeadLetters(loaded, options.limit);
    const result = await replayDeadLetters(loaded, letters, new Progress('dlq replay', letters.length));
    if (options.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`${result.replayed} replayed, ${result.failed.length} still failing (left in the dead-letter topic)`);
      if (result.failed.length > 0) print(result.failed, false);
    }
    if (result.failed.length > 0) set(EXIT.mismatch);
  });

program
  .command('reconcile')
  .description(
    'compare every rollup with the same rollup computed from a scan of the source tables (exit 5 on a difference)',
  )
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const result = await reconcile(config());
    if (options.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`${result.rollups} rollups, ${result.groups} groups, ${result.differences.length} differences`);
      if (result.differences.length > 0)
        print(
          result.differences.map((difference) => ({
            ...difference,
            group: JSON.stringify(difference.group),
            expected: JSON.stringify(difference.expected),
            actual: JSON.stringify(difference.actual),
          })),
          false,
        );
    }
    if (result.differences.length > 0) set(EXIT.mismatch);
  });

rollupsCommand(program, config);

const search = program.command('search').description('the OpenSearch documents');
search
  .command('reindex')
  .description('build a new index for an entity from a replay of its topics, then move the alias to it')
  .argument('<entity>')
  .option('--allow-partial', 'swap the alias even when a topic no longer holds its whole history')
  .option('--json', 'print the result as JSON')
  .action(async (entity: string, options: { allowPartial?: boolean; json?: boolean }) => {
    // Phases go to stderr with the progress line, so stdout holds only the result.
    const result = await reindexEntity(config(), entity, (message) => console.error(message), {
      allowPartial: Boolean(options.allowPartial),
    });
    console.log(options.json ? JSON.stringify(result, null, 2) : `alias moved from ${result.from} to ${result.to}`);
  });

const schemas = program.command('schemas').description('the change-event schema in the registry');
schemas
  .command('register')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => print(await registerSchemas(config()), Boolean(options.json)));
schemas
  .command('check')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const results = await checkSchemas(config());
    print(results, Boolean(options.json));
    if (results.some((result) => !result.compatible)) set(EXIT.mismatch);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = (error as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
    exitCode = EXIT.ok;
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
