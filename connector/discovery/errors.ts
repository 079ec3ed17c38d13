import { classifyError, FatalError } from '../../core/errors.ts';

/** AWS answers meaning the credentials may never list or describe tables: waiting cannot help. */
const REFUSED = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
]);

/** The credentials were refused (for the call that failed): waiting cannot help. */
export function isRefused(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return REFUSED.has(name) || status === 403;
}

/**
 * A failed discovery round: refused credentials stop the process with a message naming the permissions;
 * throttling, a service unavailable or a broken connection is tried again with backoff (the one
 * classification of core/errors.ts otherwise).
 */
export function discoveryFailure(error: unknown): { kind: 'retry' | 'fatal'; error: Error } {
  const name = (error as { name?: string } | null)?.name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (isRefused(error))
    return {
      kind: 'fatal',
      error: new FatalError(
        `table discovery was refused (${name || `HTTP ${status}`}): the credentials need dynamodb:ListTables, dynamodb:DescribeTable and, for tag rules, dynamodb:ListTagsOfResource`,
        { cause: error },
      ),
    };
  return { kind: classifyError(error) === 'fatal' ? 'fatal' : 'retry', error: error as Error };
}
