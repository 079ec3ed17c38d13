import { isUnavailable } from './unavailable.ts';

/**
 * The one classification of failures, used by the connector and every consumer group:
 * - `retry`: a store, broker or service is unavailable; the same work can succeed later.
 * - `record`: this record can never be written; it goes to the dead-letter topic and the rest goes on.
 * - `fatal`: a programming error or a misconfiguration; retrying cannot help, so the process stops and
 *   names the cause.
 */
export type ErrorClass = 'retry' | 'record' | 'fatal';

/** A misconfiguration or broken invariant found at run time: the process stops with this message. */
export class FatalError extends Error {
  readonly fatal = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FatalError';
  }
}

/**
 * The configuration contradicts what a store already holds (a rollup definition changed under its
 * existing table, for example). Retrying cannot help: the message says what differs and what to do.
 */
export class ConfigurationError extends FatalError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** A record the store refuses however often it is asked (a value out of the column's range, bad data). */
export class RecordError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecordError';
  }
}

// ClickHouse error codes (ErrorCodes.cpp) where the answer is about the data or the setup, not availability.
const CLICKHOUSE_RECORD_CODES = new Set([6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 321, 407]);
const CLICKHOUSE_FATAL_CODES = new Set([8, 10, 16, 43, 44, 47, 60, 62, 81, 164, 497, 516]);

/**
 * KafkaJS error types that mean a newer instance with the same transactional id took over. Not
 * INVALID_PRODUCER_ID_MAPPING: the coordinator forgets an idle transactional id after
 * transactional.id.expiration.ms; a new producer (the connector's recovery) is the answer.
 */
const KAFKA_FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
/**
 * KafkaJS error types that mean this client may never do its work: the credentials it has, or a setting the
 * cluster refuses whatever the moment (a topic policy, a topic config, a transaction timeout over the
 * broker's maximum). Retrying them would wait for ever; the process stops and names the cause.
 */
const KAFKA_REFUSED_TYPES = new Set([
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'POLICY_VIOLATION',
  'INVALID_CONFIG',
  'INVALID_TRANSACTION_TIMEOUT',
  'UNSUPPORTED_VERSION',
  'INVALID_TOPIC_EXCEPTION',
]);

const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError']);

/** The error and every `cause` below it (KafkaJS and the clients wrap what the server said). */
function* causes(error: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  for (
    let current = error;
    current && typeof current === 'object' && !seen.has(current);
    current = (current as { cause?: unknown }).cause
  ) {
    seen.add(current);
    yield current as Record<string, unknown>;
  }
}

/** The ClickHouse error code of a server answer or an embedded-engine exception ("Code: 164. DB::Exception"). */
export function clickhouseCode(error: unknown): number | undefined {
  for (const cause of causes(error)) {
    if (typeof cause.code === 'string' && /^\d+$/.test(cause.code) && typeof cause.type === 'string')
      return Number(cause.code);
    const match = typeof cause.message === 'string' ? /\bCode: (\d+)\. DB::Exception/.exec(cause.message) : null;
    if (match) return Number(match[1]);
  }
  return undefined;
}

/** True when a Kafka client error says this producer was fenced by a newer instance with the same id. */
export function isFenced(error: unknown): boolean {
  for (const cause of causes(error)) {
    if (typeof cause.type === 'string' && KAFKA_FENCED_TYPES.has(cause.type)) return true;
  }
  return false;
}

export function classifyError(error: unknown): ErrorClass {
  for (const cause of causes(error)) {
    if (cause instanceof RecordError) return 'record';
    if (cause instanceof FatalError || cause.fatal === true) return 'fatal';
    if (typeof cause.type === 'string' && (KAFKA_FENCED_TYPES.has(cause.type) || KAFKA_REFUSED_TYPES.has(cause.type)))
      return 'fatal';
  }
  if (isUnavailable(error)) return 'retry';
  const code = clickhouseCode(error);
  if (code !== undefined) {
    if (CLICKHOUSE_RECORD_CODES.has(code)) return 'record';
    if (CLICKHOUSE_FATAL_CODES.has(code)) return 'fatal';
    return 'retry';
  }
  if (error instanceof Error && PROGRAMMING_ERRORS.has(error.name)) return 'fatal';
  // Anything else is taken for the store being unwell: retried with backoff, and `/ready` turns false
  // once the same work has failed for longer than the configured time.
  return 'retry';
}

/** One line naming the cause, for logs and the exit message of a fatal stop. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (const cause of causes(error)) {
    const message = typeof cause.message === 'string' ? cause.message : String(cause);
    if (!parts.some((part) => part.includes(message)))
      parts.push(`${typeof cause.name === 'string' ? `${cause.name}: ` : ''}${message}`);
  }
  return parts.join(' <- ') || String(error);
}
