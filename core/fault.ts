/**
 * Crash points for fault tests: with SHARDLINE_FAULT_POINT=<name> and SHARDLINE_FAULT_AFTER=<n>, the
 * process kills itself with SIGKILL the n-th time it reaches that point, so tests can crash it exactly
 * between two writes (for example after a sink's insert and before its progress record). Inert otherwise.
 */
const point = process.env.SHARDLINE_FAULT_POINT;
let remaining = Number(process.env.SHARDLINE_FAULT_AFTER ?? '1');

export function faultPoint(name: string): void {
  if (point !== name) return;
  if (--remaining <= 0) process.kill(process.pid, 'SIGKILL');
}
