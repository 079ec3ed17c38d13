import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';

/** Answers a broker gives for a topic it has created but not yet put in its metadata. */
const NOT_READY_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Creates topics (ones that already exist are left as they are) and waits until every partition has a
 * leader. KafkaJS's own `waitForLeaders` gives up when a just-started broker answers "unknown topic"
 * for a moment after creating it; this waits that out.
 */
export async function createTopics(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<void> {
  // Resolves false when every topic existed (another instance may have created some first). KafkaJS
  // waits for leaders by default; the wait below replaces it.
  await admin.createTopics({ topics, timeout: timeoutMs, waitForLeaders: false });
  const names = topics.map(({ topic }) => topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      if (metadata.topics.every(({ partitions }) => partitions.length > 0 && partitions.every(({ leader }) => leader >= 0))) return;
    } catch (error) {
      if (!NOT_READY_YET.has((error as { type?: string }).type ?? '')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topics have no leader after ${timeoutMs} ms: ${names.join(', ')}`);
    await sleep(100);
  }
}

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
    if (missing.length > 0) await createTopics(admin, missing.map((topic) => ({ topic, numPartitions })));
  } finally {
    await admin.disconnect();
  }
}
