import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What a running Shardline process tells `status` about itself: enough to find its parts without its config. */
export interface RunningProcess {
  pid: number;
  /** The command it runs: run, connector, consumer or demo. */
  command: string;
  startedAt: string;
  /** Its HTTP endpoint (metrics, readiness, queries): the configured port, or a free one when that was taken. */
  http?: { host: string; port: number };
  /** The embedded ClickHouse directory it holds (absolute): only this process can open it, so queries go through it. */
  clickhouse?: string;
  /** The connector's name and checkpoint topic, when the process runs the connector. */
  connector?: { name: string; checkpoints: string };
  groups: string[];
  /** The change topics its groups read. */
  topics: string[];
  deadLetter: string;
}

/**
 * Where running processes register: `$SHARDLINE_RUN_DIR`, else `$XDG_RUNTIME_DIR/shardline`, else
 * `~/.shardline/run` (the runtime directory is per user and emptied at logout, which suits pid files).
 */
export function runDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SHARDLINE_RUN_DIR) return env.SHARDLINE_RUN_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'shardline');
  return join(homedir(), '.shardline', 'run');
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Registers this process (one JSON file named by its pid); the returned function, or the process's exit, removes it. */
export function registerProcess(
  entry: Omit<RunningProcess, 'pid' | 'startedAt'>,
  directory = runDirectory(),
): () => void {
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${process.pid}.json`);
  const record: RunningProcess = { pid: process.pid, startedAt: new Date().toISOString(), ...entry };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  const remove = () => rmSync(file, { force: true });
  process.once('exit', remove);
  return () => {
    process.off('exit', remove);
    remove();
  };
}

/** The processes registered and still alive; entries of processes that died without cleaning up are removed. */
export function runningProcesses(directory = runDirectory()): RunningProcess[] {
  let files: string[];
  try {
    files = readdirSync(directory).filter((name) => /^\d+\.json$/.test(name));
  } catch {
    return [];
  }
  const running: RunningProcess[] = [];
  for (const name of files) {
    const file = join(directory, name);
    let entry: RunningProcess;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as RunningProcess;
    } catch {
      continue; // being written or removed right now
    }
    if (alive(entry.pid)) running.push(entry);
    else rmSync(file, { force: true });
  }
  return running.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** Another running process that holds the embedded ClickHouse directory (absolute), if one does. */
export function processHoldingClickHouse(directory: string): RunningProcess | undefined {
  return runningProcesses().find((entry) => entry.clickhouse === directory && entry.pid !== process.pid);
}
