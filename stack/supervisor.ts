import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceDir } from './paths.ts';

/** A supervised server: its name in messages, and the directory of its pid and log files. */
export interface ProcessHome {
  name: string;
  dir: string;
}

/** A stack service's name stands for its directory under the stack home. */
export type Supervised = string | ProcessHome;

const homeOf = (service: Supervised): ProcessHome =>
  typeof service === 'string' ? { name: service, dir: serviceDir(service) } : service;

/** Where a service's pid and log live. */
export const pidFile = (service: Supervised): string => join(homeOf(service).dir, 'service.pid');
export const logFile = (service: Supervised): string => join(homeOf(service).dir, 'service.log');

export function readPid(service: Supervised): number | undefined {
  const path = pidFile(service);
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of the service's running process, or undefined (a stale pid file is removed). */
export function runningPid(service: Supervised): number | undefined {
  const pid = readPid(service);
  if (pid === undefined) return undefined;
  if (isAlive(pid)) return pid;
  rmSync(pidFile(service), { force: true });
  return undefined;
}

/**
 * Starts a long-running server detached from this process, in its own process group, so that it
 * outlives `stack:up` and `stack:down` can stop it and all of its children.
 */
export function startDetached(
  service: Supervised,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): number {
  const { name, dir } = homeOf(service);
  mkdirSync(dir, { recursive: true });
  const log = openSync(logFile(service), 'a');
  const child = spawn(command, args, {
    cwd: options.cwd ?? dir,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  child.unref();
  writeFileSync(pidFile(service), `${child.pid}\n`);
  return child.pid;
}

/** Stops the process group with SIGTERM, then SIGKILL after the grace period. */
export async function stopProcess(service: Supervised, graceMs = 15_000): Promise<boolean> {
  const pid = runningPid(service);
  if (pid === undefined) return false;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signalGroup('SIGKILL');
  while (isAlive(pid)) await sleep(100);
  rmSync(pidFile(service), { force: true });
  return true;
}

/** Polls a readiness probe until it answers true, the process dies, or the time is up. */
export async function waitUntilReady(
  service: Supervised,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const { name } = homeOf(service);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    const pid = runningPid(service);
    if (pid === undefined) throw new Error(`${name} exited before it was ready; see ${logFile(service)}`);
    if (Date.now() > deadline)
      throw new Error(`${name} was not ready after ${timeoutMs / 1000}s; see ${logFile(service)}`);
    await sleep(500);
  }
}
