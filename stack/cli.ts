import { kafkaBrokers, stackDown, stackStatus, stackUp, type StackOptions } from './stack.ts';
import { clickhouseDescription } from './clickhouse.ts';
import { ENDPOINT_VARIABLES } from './endpoints.ts';
import { requireJava } from './java-runtime.ts';
import { MissingPrerequisite } from './prerequisites.ts';
import { REGISTRY_JAVA } from './services/registry.ts';

/** Reads `--brokers N` (Kafka nodes, 1 by default) from the arguments after the command. */
export function parseStackOptions(args: readonly string[]): StackOptions {
  const options: StackOptions = {};
  for (let index = 0; index < args.length; index++) {
    const [flag, inline] = args[index]!.split('=', 2);
    if (flag !== '--brokers') throw new Error(`unknown option '${args[index]}': expected --brokers N`);
    const value = inline ?? args[++index];
    const brokers = Number(value);
    if (!Number.isInteger(brokers) || brokers < 1)
      throw new Error(`--brokers needs a whole number ≥ 1, got '${value ?? ''}'`);
    options.brokers = brokers;
  }
  return options;
}

/**
 * `npm run stack:up|down|status [-- --brokers N]`; `shardline stack …` calls the same functions. `java`
 * prints the java binary the registry (the newest Java the stack needs) runs on, installing one if needed.
 */
export async function runStackCommand(command: string, args: readonly string[] = []): Promise<number> {
  const log = (message: string): void => console.log(message);
  const started = Date.now();
  try {
    switch (command) {
      case 'up': {
        const options = parseStackOptions(args);
        await stackUp(log, options);
        log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        log(`${ENDPOINT_VARIABLES.kafkaBrokers}=${kafkaBrokers(options)}`);
        return 0;
      }
      case 'down':
        await stackDown(log);
        log('stack down');
        return 0;
      case 'status': {
        const rows = await stackStatus();
        const clickhouse = clickhouseDescription();
        console.table([
          ...rows.map(({ name, state, version, address, pid }) => ({
            service: name,
            state,
            version: version ?? '',
            address,
            pid: pid ?? '',
          })),
          {
            service: 'clickhouse',
            state: clickhouse.state,
            version: clickhouse.version,
            address: clickhouse.address,
            pid: '',
          },
        ]);
        return rows.every((row) => row.state === 'up') ? 0 : 3;
      }
      case 'java':
        log(requireJava(REGISTRY_JAVA));
        return 0;
      default:
        console.error(`unknown stack command '${command}': expected up, down, status or java`);
        return 2;
    }
  } catch (error) {
    console.error(error instanceof MissingPrerequisite ? error.message : error);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runStackCommand(process.argv[2] ?? 'status', process.argv.slice(3));
}
