const NETWORK_FAILURE =
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)\b|socket hang up|Timeout \(\d+ms\)/;

/**
 * A server that does not answer (refused, reset, timed out, 5xx, 429) is no fault of the record being
 * processed: the work is retried, never dead-lettered.
 */
export function isUnavailable(error: unknown): boolean {
  const failure = error as {
    status?: number;
    statusCode?: number;
    $metadata?: { httpStatusCode?: number };
    code?: string;
    cause?: { code?: string };
    message?: unknown;
  } | null;
  // AWS SDK errors carry the status in $metadata, also when the answer could not be read (an HTML error page).
  const status = failure?.status ?? failure?.statusCode ?? failure?.$metadata?.httpStatusCode;
  // The schema registry's client (mappersmith) reports a connection that failed as status 400 with the
  // socket error in the message: that is the server not answering, not a refusal.
  if (status !== undefined)
    return (
      status >= 500 || status === 429 || (typeof failure?.message === 'string' && NETWORK_FAILURE.test(failure.message))
    );
  const code = failure?.code ?? failure?.cause?.code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'].includes(code) ||
    ((error as Error)?.name === 'TypeError' && /fetch failed/.test((error as Error).message)) ||
    (error as Error)?.name === 'TimeoutError'
  );
}
