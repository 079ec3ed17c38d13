import type { Kafka, KafkaMessage } from 'kafkajs';
import { uniqueName } from './endpoints.ts';

export interface ReadMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/** Waits until the topics exist: a consumer subscribes only to topics that exist when it subscribes. */
export async function waitForTopics(kafka: Kafka, topics: string[], timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`topics never appeared: ${missing.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads topics from the beginning with a fresh read_committed consumer until `done` says so or the
 * time is up, and returns what it read (so a test can assert on a short read, not hang).
 */
export async function readTopics(
  kafka: Kafka,
  topics: string[],
  done: (messages: ReadMessage[]) => boolean,
  timeoutMs = 30_000,
): Promise<ReadMessage[]> {
  const groupId = uniqueName('test-reader');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, readUncommitted: false });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    void consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        messages.push({ topic, partition, message });
        if (done(messages)) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return messages;
}
