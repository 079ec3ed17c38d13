import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaLogLevel } from '../../../core/kafka.ts';
import { logLevel } from '../../../core/kafkajs.ts';

test('KafkaJS entries: a send attempt that is retried warns, CONCURRENT_TRANSACTIONS is debug, what is not retried stays an error', () => {
  const concurrent =
    'Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
  assert.equal(kafkaLogLevel('Producer', logLevel.ERROR, { message: concurrent, retryCount: 0 }), 'debug');
  assert.equal(
    kafkaLogLevel('Producer', logLevel.ERROR, {
      message:
        'Failed to send messages: There is no leader for this topic-partition as we are in the middle of a leadership election',
      retryCount: 2,
    }),
    'warn',
  );
  assert.equal(kafkaLogLevel('Producer', logLevel.ERROR, { message: concurrent }), 'error');
  // A send's non-retriable failure, bailed on its first attempt, and a consumer's crash carry retry counts too.
  assert.equal(
    kafkaLogLevel('Producer', logLevel.ERROR, {
      message: 'The broker received an out of order sequence',
      retryCount: 0,
    }),
    'error',
  );
  assert.equal(
    kafkaLogLevel('Consumer', logLevel.ERROR, { message: 'Crash: KafkaJSNumberOfRetriesExceeded', retryCount: 5 }),
    'error',
  );
  // BrokerPool logs the Error object itself as the message.
  assert.equal(
    kafkaLogLevel('BrokerPool', logLevel.ERROR, { message: new Error('SASL failed'), retryCount: 0 }),
    'error',
  );
  assert.equal(
    kafkaLogLevel('Consumer', logLevel.ERROR, { message: 'Crash: KafkaJSNumberOfRetriesExceeded' }),
    'error',
  );
  assert.equal(kafkaLogLevel('Consumer', logLevel.WARN, { message: 'a warning' }), 'warn');
  assert.equal(kafkaLogLevel('Connection', logLevel.ERROR, { message: 'Connection error' }), 'debug');
  assert.equal(kafkaLogLevel('Consumer', logLevel.INFO, { message: 'Starting' }), 'debug');
});
