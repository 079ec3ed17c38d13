import { withRetries, type Backoff } from '../../core/backoff.ts';

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

/** AWS calls retried on throttling and server errors, with backoff and jitter. */
export const withAwsRetries = <T>(policy: Backoff, call: () => Promise<T>): Promise<T> =>
  withRetries(policy, isRetryable, call);
