import type { Admin, Kafka, Message } from 'kafkajs';
import type { Barrier } from '../core/barrier.ts';
import { ConfigurationError } from '../core/errors.ts';
import { readToEnd } from '../core/read-to-end.ts';
import { createTopics, topicMetadata } from '../core/topics.ts';
import { parseCheckpointKey } from './checkpoint-keys.ts';

/** The committed position of one shard (or scan segment), stored in a compacted topic. */
export interface Checkpoint {
  /** Last sequence number written to Kafka; undefined when nothing was read yet. */
  sequenceNumber?: string;
  /** Read to its end: never read again, and its children may start. */
  finished: boolean;
  /** Snapshot segments: where the scan resumes (DynamoDB's LastEvaluatedKey, as JSON). */
  resumeKey?: string;
  /**
   * Kinesis shards: the event ids of the newest committed records (oldest first), so that a restarted
   * connector still removes copies of them.
   */
  recentEventIds?: string[];
  /**
   * The highest event version written from this shard (a decimal integer string), or the version every
   * row of a re-snapshot run carries: a re-snapshot after a gap orders its rows above all of them.
   */
  version?: string;
}

export function checkpointMessage(key: string, checkpoint: Checkpoint): Message {
  return { key, value: JSON.stringify(checkpoint) };
}

/** Creates the checkpoint topic, compacted so that it keeps the newest position of every shard. */
export async function ensureCheckpointTopic(admin: Admin, topic: string): Promise<void> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) {
    await createTopics(admin, [
      {
        topic,
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'min.compaction.lag.ms', value: '0' },
        ],
      },
    ]);
    return;
  }
  // Checkpoints are read past a barrier in partition 0: those in other partitions would be missed.
  const [metadata] = await topicMetadata(admin, [topic]);
  const partitions = metadata?.partitions.length ?? 1;
  if (partitions !== 1) {
    throw new ConfigurationError(
      `connector.topics.checkpoints: the topic ${topic} has ${partitions} partitions; checkpoints need a topic of exactly one (let the connector create it, or create it with one partition, compacted)`,
    );
  }
}

/**
 * Reads every committed checkpoint of one connector (read_committed). With `barrier` (placed by the
 * connector's producer right after it fenced older instances, core/barrier.ts) the read goes on past it,
 * so it holds everything they committed; without (`status`), up to the last stable offset when it begins.
 */
export async function loadCheckpoints(
  kafka: Kafka,
  topic: string,
  connector: string,
  barrier?: Barrier,
): Promise<Map<string, Checkpoint>> {
  const checkpoints = new Map<string, Checkpoint>();
  await readToEnd(
    kafka,
    topic,
    'shardline-checkpoint-reader',
    (_partition, message) => {
      const key = message.key?.toString();
      if (key === undefined || parseCheckpointKey(key)?.connector !== connector) return;
      if (message.value) checkpoints.set(key, JSON.parse(message.value.toString()) as Checkpoint);
      else checkpoints.delete(key);
    },
    { barrier },
  );
  return checkpoints;
}
