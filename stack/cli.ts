import { stackDown, stackStatus, stackUp } from './stack.ts';
import { clickhouseDescription } from './clickhouse.ts';
import { MissingPrerequisite } from './prerequisites.ts';

/** `npm run stack:up|down|status`; `shardline stack …` calls the same functions. */
export async function runStackCommand(command: string): Promise<number> {
  const log = (message: string): void => console.log(message);
  const started = Date.now();
  try {
    switch (command) {
      case 'up':
        await stackUp(log);
        log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        return 0;
      case 'down':
        await stackDown(log);
        log('stack down');
        return 0;
      case 'status': {
        const rows = await stackStatus();
        const clickhouse = clickhouseDescription();
        console.table([
          ...rows.map(({ name, state, version, address, pid }) => ({ service: name, state, version: version ?? '', address, pid: pid ?? '' })),
          { service: 'clickhouse', state: clickhouse.state, version: clickhouse.version, address: clickhouse.address, pid: '' },
        ]);
        return rows.every((row) => row.state === 'up') ? 0 : 3;
      }
      default:
        console.error(`unknown stack command '${command}': expected up, down or status`);
        return 2;
    }
  } catch (error) {
    console.error(error instanceof MissingPrerequisite ? error.message : error);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runStackCommand(process.argv[2] ?? 'status');
}
