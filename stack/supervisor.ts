import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceDir } from './paths.ts';

/** Where a service's pid and log live. */
export const pidFile = (service: string): string => join(serviceDir(service), 'service.pid');
export const logFile = (service: string): string => join(serviceDir(service), 'service.log');

export function readPid(service: string): number | undefined {
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
export function runningPid(service: string): number | undefined {
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
export function startDetached(service: string, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  mkdirSync(serviceDir(service), { recursive: true });
  const log = openSync(logFile(service), 'a');
  const child = spawn(command, args, {
    cwd: options.cwd ?? serviceDir(service),
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${service}: could not start ${command}`);
  child.unref();
  writeFileSync(pidFile(service), `${child.pid}\n`);
  return child.pid;
}

/** Stops the process group with SIGTERM, then SIGKILL after the grace period. */
export async function stopProcess(service: string, graceMs = 15_000): Promise<boolean> {
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
export async function waitUntilReady(service: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    const pid = runningPid(service);
    if (pid === undefined) throw new Error(`${service} exited before it was ready; see ${logFile(service)}`);
    if (Date.now() > deadline) throw new Error(`${service} was not ready after ${timeoutMs / 1000}s; see ${logFile(service)}`);
    await sleep(500);
  }
}
