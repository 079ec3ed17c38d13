import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, ITopicConfig, ITopicMetadata, Kafka } from 'kafkajs';
import kafkajs from './kafkajs.ts';

// kafkajs is CommonJS: its enums are not named exports under ESM.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

/** Answers a broker gives for a topic it has created but not yet put in its metadata. */
const NOT_READY_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * The topics' partitions. A topic just created is not in every broker's metadata at once, and KafkaJS asks
 * any one broker: "unknown topic" from a broker that has not caught up yet is waited out until the deadline.
 */
export async function topicMetadata(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<ITopicMetadata[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await admin.fetchTopicMetadata({ topics })).topics;
    } catch (error) {
      if (!NOT_READY_YET.has((error as { type?: string }).type ?? '') || Date.now() > deadline) throw error;
    }
    await sleep(100);
  }
}

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
    const metadata = await topicMetadata(admin, names, Math.max(0, deadline - Date.now()));
    if (metadata.every(({ partitions }) => partitions.length > 0 && partitions.every(({ leader }) => leader >= 0)))
      return;
    if (Date.now() > deadline) throw new Error(`topics have no leader after ${timeoutMs} ms: ${names.join(', ')}`);
    await sleep(100);
  }
}

/**
 * How long change topics keep their records. A new consumer group, a reset one and `search reindex`
 * rebuild from the topics, so by default they keep everything (`retentionMs: -1`). With `compaction`
 * they keep the newest record of every item instead, and a REMOVE event (and the tombstone after it) for
 * at least `deleteRetentionMs`, so consumers that lag less than that still see every delete.
 */
export interface TopicPolicy {
  retentionMs: number;
  compaction?: { deleteRetentionMs: number };
}

export const KEEP_EVERYTHING: TopicPolicy = { retentionMs: -1 };

export function topicPolicyConfig(policy: TopicPolicy): Array<{ name: string; value: string }> {
  if (!policy.compaction)
    return [
      { name: 'cleanup.policy', value: 'delete' },
      { name: 'retention.ms', value: String(policy.retentionMs) },
    ];
  const kept = String(policy.compaction.deleteRetentionMs);
  // min.compaction.lag.ms: a REMOVE event is not compacted away by its tombstone before that long.
  return [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'delete.retention.ms', value: kept },
    { name: 'min.compaction.lag.ms', value: kept },
  ];
}

/**
 * Creates the topics that do not exist yet, so that consumer groups can subscribe before the connector
 * has written anything (a subscription only sees topics that exist when it is made).
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: string[],
  numPartitions = 3,
  policy: TopicPolicy = KEEP_EVERYTHING,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((topic) => !existing.has(topic));
    if (missing.length > 0)
      await createTopics(
        admin,
        missing.map((topic) => ({ topic, numPartitions, configEntries: topicPolicyConfig(policy) })),
      );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Gives change topics the policy: missing ones are created with it (the broker's partition count),
 * existing ones (created by someone else or with another policy) are altered to it. AlterConfigs
 * replaces a topic's whole set, so the other settings made on the topic are sent along unchanged.
 */
export async function applyTopicPolicy(kafka: Kafka, topics: string[], policy: TopicPolicy): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0)
      await createTopics(
        admin,
        missing.map((topic) => ({ topic, configEntries: topicPolicyConfig(policy) })),
      );
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length === 0) return;
    const wanted = topicPolicyConfig(policy);
    const { resources } = await admin.describeConfigs({
      resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
      includeSynonyms: false,
    });
    const changes = resources.flatMap(({ resourceName, configEntries }) => {
      const own = configEntries
        .filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG)
        .map((entry) => ({ name: entry.configName, value: entry.configValue }));
      const differs = wanted.some(
        ({ name, value }) => configEntries.find((entry) => entry.configName === name)?.configValue !== value,
      );
      const kept = own.filter(({ name }) => !wanted.some((entry) => entry.name === name));
      return differs
        ? [{ type: ConfigResourceTypes.TOPIC, name: resourceName, configEntries: [...kept, ...wanted] }]
        : [];
    });
    if (changes.length > 0) await admin.alterConfigs({ validateOnly: false, resources: changes });
  } finally {
    await admin.disconnect();
  }
}
