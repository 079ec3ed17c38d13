import type { Kafka } from 'kafkajs';

/**
 * Creates the topics that do not exist yet, so that consumer groups can subscribe before the connector
 * has written anything (a subscription only sees topics that exist when it is made).
 */
export async function ensureTopics(kafka: Kafka, topics: string[], numPartitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions })) });
  } finally {
    await admin.disconnect();
  }
}
