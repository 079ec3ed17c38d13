import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Starts a TypeScript entry point as a child process with the test's environment plus `env`. */
export function spawnEntry(entry: URL, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', fileURLToPath(entry)], {
    // Warnings and errors only, unless the run asks for more (SHARDLINE_LOG_LEVEL=debug).
    env: { SHARDLINE_LOG_LEVEL: 'warn', ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Kills with SIGKILL (no shutdown hooks, no flush) and waits until the process is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

export const randomBetween = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min));

/** Runs an ES module script in a fresh Node process from the repository's root (TypeScript through tsx), to its end. */
export function runModuleScript(script: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    encoding: 'utf8',
  });
}
