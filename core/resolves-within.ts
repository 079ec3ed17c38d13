import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Whether `promise` resolves within `ms`: false when it rejects or the time runs out first (the promise is then
 * left to settle on its own). The timer does not outlive the answer.
 */
export async function resolvesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => false,
      ),
      sleep(ms, false, { signal: timer.signal }),
    ]);
  } finally {
    timer.abort();
  }
}
