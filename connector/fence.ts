import type { Kafka } from 'kafkajs';

/**
 * Initialises a transactional id with a producer of its own: the coordinator ends the transaction an earlier
 * producer with that id left (aborts it, or completes the commit it had begun) and fences that producer.
 */
export async function fenceTransactionalId(kafka: Kafka, transactionalId: string): Promise<void> {
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    // KafkaJS initialises the transactional id at the first transaction, not on connecting.
    await (await producer.transaction()).abort();
  } finally {
    await producer.disconnect();
  }
}
