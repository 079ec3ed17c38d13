import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { readToEnd } from '../core/read-to-end.ts';
import { createTopics } from '../core/topics.ts';

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

const BARRIER_HEADER = 'shardline-barrier';

/**
 * Commits a barrier record to the checkpoint topic in a transaction of its own and returns its id: the
 * connector's first act after its producer fenced older instances. Everything those instances committed
 * lies before it in the topic's one partition, so reading up to the barrier reads all of it. (The last
 * stable offset listed right after fencing is not enough: it was seen to lag behind the last committed
 * transaction on a three-broker cluster, and another connector's transaction begun earlier holds it down.)
 * The barrier is a tombstone under a key no checkpoint has, so compaction removes it and readers skip it.
 */
export async function commitCheckpointBarrier(producer: Producer, topic: string, connector: string): Promise<string> {
  const barrier = randomUUID();
  const transaction = await producer.transaction();
  try {
    await transaction.send({ topic, messages: [{ key: `${connector}|barrier`, value: null, partition: 0, headers: { [BARRIER_HEADER]: barrier } }] });
    await transaction.commit();
  } catch (error) {
    await transaction.abort().catch(() => undefined);
    throw error;
  }
  return barrier;
}

/**
 * Reads every committed checkpoint of one connector (read_committed). With `barrier` (the connector's
 * own, see commitCheckpointBarrier) the read goes on until that record, so it holds every checkpoint
 * committed before; without (`status`), up to the last stable offset when the read begins.
 */
export async function loadCheckpoints(kafka: Kafka, topic: string, connector: string, barrier?: string): Promise<Map<string, Checkpoint>> {
  const checkpoints = new Map<string, Checkpoint>();
  const isBarrier = (message: KafkaMessage) => message.headers?.[BARRIER_HEADER]?.toString() === barrier;
  await readToEnd(kafka, topic, 'shardline-checkpoint-reader', (_partition, message) => {
    const key = message.key?.toString();
    if (!key?.startsWith(`${connector}|`)) return;
    if (message.value) checkpoints.set(key, JSON.parse(message.value.toString()) as Checkpoint);
    else checkpoints.delete(key);
  }, barrier === undefined ? {} : { endsAt: isBarrier });
  return checkpoints;
}
