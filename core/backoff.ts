import { setTimeout as sleep } from 'node:timers/promises';

export interface Backoff {
  baseMs: number;
  maxMs: number;
  /** Attempts before giving up; Infinity retries forever. */
  attempts: number;
}

/** Full-jitter exponential backoff: a random wait up to min(max, base * 2^attempt). */
export const backoffDelay = (policy: Backoff, attempt: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(policy.maxMs, policy.baseMs * 2 ** attempt));

/** Runs `call`, retrying errors `retryable` accepts with backoff; other errors are thrown at once. */
export async function withRetries<T>(
  policy: Backoff,
  retryable: (error: unknown) => boolean,
  call: () => Promise<T>,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!retryable(error) || attempt + 1 >= policy.attempts) throw error;
      onRetry?.(error, attempt);
      await sleep(backoffDelay(policy, attempt));
    }
  }
}
