import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for `promise` at most `ms`, then fails naming what did not happen: a step that hangs fails the test
 * with its own name instead of the whole test's timeout, which says nothing of where it stood.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timeout.signal }).then(() => {
        throw new Error(`${what}: not within ${ms / 1000} s`);
      }),
    ]);
  } finally {
    timeout.abort();
  }
}
