import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

// KafkaJS 2.2.4 passes an absolute timestamp to setTimeout in its request queue (tulios/kafkajs#1751);
// Node 24 clamps it to 1 ms, which is what KafkaJS meant, and warns each time. Only that warning is dropped.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const name = typeof warning === 'string' ? (typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type) : warning.name;
  if (name === 'TimeoutNegativeWarning') return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  ssl?: KafkaConfig['ssl'];
  sasl?: KafkaConfig['sasl'];
}

/** The one place a KafkaJS client is made, so security settings and logging are the same everywhere. */
export function createKafka(connection: KafkaConnection): Kafka {
  return new Kafka({
    clientId: connection.clientId ?? 'shardline',
    brokers: connection.brokers,
    ssl: connection.ssl,
    sasl: connection.sasl,
    logLevel: logLevel.ERROR,
  });
}
