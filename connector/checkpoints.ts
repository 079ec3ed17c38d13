import type { Admin, Kafka, Message } from 'kafkajs';
import { createTopics } from '../core/topics.ts';

/** The committed position of one shard (or scan segment), stored in a compacted topic. */
export interface Checkpoint {
  /** Last sequence number written to Kafka; undefined when nothing was read yet. */
  sequenceNumber?: string;
  /** Read to its end: never read again, and its children may start. */
  finished: boolean;
  /** Snapshot segments: where the scan resumes (DynamoDB's LastEvaluatedKey, as JSON). */
  resumeKey?: string;
}

export const checkpointKey = (connector: string, stream: string, shardId: string): string => `${connector}|${stream}|${shardId}`;

export function checkpointMessage(key: string, checkpoint: Checkpoint): Message {
  return { key, value: JSON.stringify(checkpoint) };
}

/** Creates the checkpoint topic, compacted so that it keeps the newest position of every shard. */
export async function ensureCheckpointTopic(admin: Admin, topic: string): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  await createTopics(admin, [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.compaction.lag.ms', value: '0' }] }]);
}

/**
 * Reads every committed checkpoint of one connector (read_committed, up to the last stable offset).
 * Call it after the transactional producer has initialised: that aborts a crashed instance's open
 * transaction, so its uncommitted checkpoints are never read.
 */
export async function loadCheckpoints(kafka: Kafka, topic: string, connector: string): Promise<Map<string, Checkpoint>> {
  const admin = kafka.admin();
  await admin.connect();
  const checkpoints = new Map<string, Checkpoint>();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const remaining = new Map(ends.filter((end) => BigInt(end.offset) > BigInt(end.low)).map((end) => [end.partition, BigInt(end.offset)]));
    if (remaining.size === 0) return checkpoints;
    const groupId = `shardline-checkpoint-reader-${process.pid}-${Date.now()}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, readUncommitted: false });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        let idleFetches = 0;
        // The stable end offset can sit after a commit marker, which is never delivered: a few empty
        // fetches past the last record mean the end was reached.
        consumer.on(consumer.events.FETCH, () => {
          if (++idleFetches >= 5) resolve();
        });
        consumer.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            idleFetches = 0;
            const key = message.key?.toString();
            if (key?.startsWith(`${connector}|`)) {
              if (message.value) checkpoints.set(key, JSON.parse(message.value.toString()) as Checkpoint);
              else checkpoints.delete(key);
            }
            const end = remaining.get(partition);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) {
              remaining.delete(partition);
              if (remaining.size === 0) resolve();
            }
          },
        }).catch(reject);
      });
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return checkpoints;
  } finally {
    await admin.disconnect();
  }
}
