import type { KafkaConfig, logCreator } from 'kafkajs';
import { Kafka, logLevel } from './kafkajs.ts';
import { installAbortedTransactionFilter } from './kafkajs-aborted-transactions.ts';
import { kafkaJsRequire } from './kafkajs-internals.ts';
import { logger } from './logger.ts';

// Before any fetch: a read_committed consumer must never receive an aborted record (see the module).
installAbortedTransactionFilter();

// Every producer uses KafkaJS's default (Java-compatible murmur2) partitioner, so an item's key maps to
// the same partition from any process; the warning about the v2 default change is moot.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: KafkaConfig['ssl'];
  sasl?: KafkaConfig['sasl'];
}

/** What the broker answers while it completes a transaction's previous commit: retried at once, expected. */
const concurrentTransactions = (
  kafkaJsRequire('kafkajs/src/protocol/error') as { errorCodes: { type: string; message: string }[] }
).errorCodes.find(({ type }) => type === 'CONCURRENT_TRANSACTIONS')?.message;

/**
 * The level a KafkaJS log entry is given. KafkaJS logs each failed attempt of a send at ERROR before it retries
 * it ("Failed to send messages: …"); what outlasts the retries reaches Shardline's code, which classifies and
 * logs it. So such an attempt is a warning, CONCURRENT_TRANSACTIONS (the broker still completing the last commit)
 * debug; every other error stays an error (a consumer's crash carries a retry count too), and connection-level
 * noise is debug.
 */
export function kafkaLogLevel(
  namespace: string,
  level: logLevel,
  log: { message: unknown; retryCount?: unknown },
): 'debug' | 'warn' | 'error' {
  if (namespace === 'Connection' || level > logLevel.WARN) return 'debug';
  if (level === logLevel.WARN) return 'warn';
  // KafkaJS logs some errors as the Error object itself, not a string.
  const { message } = log;
  if (log.retryCount === undefined || typeof message !== 'string' || !message.startsWith('Failed to send messages: '))
    return 'error';
  return concurrentTransactions && message.endsWith(concurrentTransactions) ? 'debug' : 'warn';
}

const kafkaLog: logCreator =
  () =>
  ({ namespace, level, log }) => {
    const { message, ...fields } = log;
    logger.child({ component: 'kafkajs', namespace })[kafkaLogLevel(namespace, level, log)](fields, message);
  };

/** The one place a KafkaJS client is made, so security settings and logging are the same everywhere. */
export function createKafka(connection: KafkaConnection): Kafka {
  return new Kafka({
    clientId: connection.clientId ?? 'shardline',
    brokers: connection.brokers,
    ssl: connection.ssl,
    sasl: connection.sasl,
    logLevel: logLevel.INFO,
    logCreator: kafkaLog,
  });
}
