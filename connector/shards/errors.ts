import { setTimeout as sleep } from 'node:timers/promises';

const errorName = (error: unknown): string => (error as { name?: string } | null)?.name ?? '';

/** The iterator is older than 15 minutes: take a new one after the last record read. */
export const isExpiredIterator = (error: unknown): boolean => errorName(error) === 'ExpiredIteratorException';

/** The records asked for are past the stream's retention (24 hours for DynamoDB Streams). */
export const isTrimmedData = (error: unknown): boolean => errorName(error) === 'TrimmedDataAccessException';

/** The shard or stream is gone. */
export const isResourceNotFound = (error: unknown): boolean => errorName(error) === 'ResourceNotFoundException';

const RETRYABLE = new Set([
  'LimitExceededException',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'KMSThrottlingException',
  'TimeoutError',
]);

/** Throttling, server errors and broken connections: worth retrying with backoff. */
export function isRetryable(error: unknown): boolean {
  if (RETRYABLE.has(errorName(error))) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  const code = (error as { code?: string } | null)?.code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EPIPE';
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
  /** Attempts before giving up; Infinity retries forever. */
  attempts: number;
}

/** Full-jitter exponential backoff: a random wait up to min(max, base * 2^attempt). */
export const backoffDelay = (policy: Backoff, attempt: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(policy.maxMs, policy.baseMs * 2 ** attempt));

/** Runs `call`, retrying retryable errors with backoff; other errors are thrown at once. */
export async function withRetries<T>(policy: Backoff, call: () => Promise<T>, onRetry?: (error: unknown, attempt: number) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error) || attempt + 1 >= policy.attempts) throw error;
      onRetry?.(error, attempt);
      await sleep(backoffDelay(policy, attempt));
    }
  }
}
