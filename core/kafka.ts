import type { KafkaConfig, logCreator } from 'kafkajs';
import { Kafka, logLevel } from './kafkajs.ts';
import { installAbortedTransactionFilter } from './kafkajs-aborted-transactions.ts';
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

// KafkaJS logs every retried protocol error at ERROR; its connection-level noise goes to debug and
// the rest through the process logger, so retries do not look like failures.
const kafkaLog: logCreator =
  () =>
  ({ namespace, level, log }) => {
    const { message, ...fields } = log;
    const child = logger.child({ component: 'kafkajs', namespace });
    if (namespace === 'Connection' || level > logLevel.WARN) child.debug(fields, message);
    else if (level === logLevel.WARN) child.warn(fields, message);
    else child.error(fields, message);
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
