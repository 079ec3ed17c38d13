import type { Kafka, Producer } from 'kafkajs';
import { uniqueName } from './endpoints.ts';

/**
 * A producer whose retries do not write twice. A partition just created may answer "not leader" for a
 * moment after its metadata shows a leader, and KafkaJS then sends the whole request again, which a
 * plain producer writes a second time for the partitions that had accepted it.
 */
export function idempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
}

/** A connected transactional producer with a transactional id of its own, named after `name`. */
export async function transactionalProducer(kafka: Kafka, name: string): Promise<Producer> {
  const producer = kafka.producer({ transactionalId: uniqueName(name), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}
