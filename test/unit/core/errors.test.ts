import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { classifyError, clickhouseCode, FatalError, RecordError, type ErrorClass } from '../../../core/errors.ts';

const { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
const protocolError = (type: string, code: number) =>
  Object.assign(new KafkaJSProtocolError(`${type} (test)`), { type, code });
const clickhouseServerError = (code: number, type: string) =>
  Object.assign(new Error(`${type}: refused`), { code: String(code), type });
const embeddedError = (code: number) =>
  new Error(`Code: ${code}. DB::Exception: refused (test). (X) (version 26.7.2.1)`);

const cases: [string, unknown, ErrorClass][] = [
  ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'retry'],
  ['HTTP 503', Object.assign(new Error('unavailable'), { statusCode: 503 }), 'retry'],
  ['fetch failed', new TypeError('fetch failed'), 'retry'],
  [
    "the registry client's refused connection (status 400)",
    Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 127.0.0.1:8081'), {
      status: 400,
    }),
    'retry',
  ],
  [
    'NOT_COORDINATOR after KafkaJS retries',
    new KafkaJSNumberOfRetriesExceeded(protocolError('NOT_COORDINATOR', 16), { retryCount: 5, retryTime: 1000 }),
    'retry',
  ],
  ['a request timeout', Object.assign(new Error('Request timed out'), { name: 'KafkaJSRequestTimeoutError' }), 'retry'],
  [
    'a transaction state error',
    new KafkaJSNonRetriableError('Transaction state exception: Cannot call "transaction" in state "COMMITTING"'),
    'retry',
  ],
  [
    'fenced producer, wrapped',
    new KafkaJSNumberOfRetriesExceeded(protocolError('PRODUCER_FENCED', 90), { retryCount: 0, retryTime: 0 }),
    'fatal',
  ],
  ['topic authorization', protocolError('TOPIC_AUTHORIZATION_FAILED', 29), 'fatal'],
  ["a topic the cluster's policy refuses (at start-up)", protocolError('POLICY_VIOLATION', 44), 'fatal'],
  [
    "a transaction timeout over the broker's maximum",
    new KafkaJSNumberOfRetriesExceeded(protocolError('INVALID_TRANSACTION_TIMEOUT', 50), {
      retryCount: 0,
      retryTime: 0,
    }),
    'fatal',
  ],
  [
    'a broker short for the replication factor (one restarting)',
    protocolError('INVALID_REPLICATION_FACTOR', 38),
    'retry',
  ],
  ['a TypeError in a sink', new TypeError("Cannot read properties of undefined (reading 'x')"), 'fatal'],
  ['a RangeError', new RangeError('Invalid time value'), 'fatal'],
  ['a ReferenceError', new ReferenceError('x is not defined'), 'fatal'],
  ['ClickHouse READONLY (embedded)', embeddedError(164), 'fatal'],
  ['ClickHouse UNKNOWN_TABLE (server)', clickhouseServerError(60, 'UNKNOWN_TABLE'), 'fatal'],
  ['ClickHouse DECIMAL_OVERFLOW', embeddedError(407), 'record'],
  [
    'ClickHouse CANNOT_PARSE_INPUT_ASSERTION_FAILED',
    clickhouseServerError(27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'),
    'record',
  ],
  ['ClickHouse MEMORY_LIMIT_EXCEEDED', embeddedError(241), 'retry'],
  ['a record error', new RecordError('value out of range'), 'record'],
  ['a fatal error', new FatalError('rollup changed'), 'fatal'],
  ['an unknown error from a store', new Error('something odd'), 'retry'],
];

for (const [name, error, expected] of cases) {
  test(`classified once: ${name} → ${expected}`, () => assert.equal(classifyError(error), expected));
}

test('ClickHouse codes are read from server answers and embedded-engine messages alike', () => {
  assert.equal(clickhouseCode(embeddedError(164)), 164);
  assert.equal(clickhouseCode(clickhouseServerError(60, 'UNKNOWN_TABLE')), 60);
  assert.equal(clickhouseCode(new Error('no code here')), undefined);
});

test('an AWS answer the SDK could not read (an HTML error page from a proxy or an overloaded endpoint) is retried when its status says the server failed', () => {
  // What the SDK throws: the parser's SyntaxError, with the response's status attached by its deserializer.
  const unreadable = (httpStatusCode: number) =>
    Object.assign(
      new SyntaxError(
        `Unexpected token '<', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.`,
      ),
      { $metadata: { httpStatusCode } },
    );
  assert.equal(classifyError(unreadable(500)), 'retry');
  assert.equal(classifyError(unreadable(503)), 'retry');
  assert.equal(classifyError(unreadable(429)), 'retry');
  assert.equal(classifyError(unreadable(400)), 'fatal', 'an unreadable refusal is not the server being unwell');
  assert.equal(
    classifyError(new SyntaxError('Unexpected token')),
    'fatal',
    'a SyntaxError of our own is a programming error',
  );
});
