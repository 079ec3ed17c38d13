import { setTimeout as sleep } from 'node:timers/promises';
import { redisService } from '../../stack/services/redis.ts';
import { runningPid, stopProcess, waitUntilReady } from '../../stack/supervisor.ts';

/** True when the tests run on the native stack, which they may stop and start. */
export const canControlServers = (): boolean =>
  process.env.SHARDLINE_TEST_STACK_CONTROL === '1' || process.env.SHARDLINE_KAFKA_BROKERS === undefined;

/** Freezes a server (SIGSTOP) for a while: requests hang and time out as with a server that stopped answering. */
export async function freeze(service: string, milliseconds: number): Promise<void> {
  const pid = runningPid(service);
  if (pid === undefined) throw new Error(`${service} is not running`);
  process.kill(-pid, 'SIGSTOP');
  try {
    await sleep(milliseconds);
  } finally {
    process.kill(-pid, 'SIGCONT');
  }
}

/** Stops Redis (its append-only file keeps the data), waits, and starts it again. */
export async function restartRedis(downMilliseconds: number): Promise<void> {
  await stopProcess('redis');
  await sleep(downMilliseconds);
  await redisService.start();
  await waitUntilReady('redis', () => redisService.ready(), redisService.readyTimeoutMs);
}
