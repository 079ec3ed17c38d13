import type { Kafka, Message, PartitionMetadata, RecordMetadata, TopicMessages } from 'kafkajs';
import { Partitioners } from './kafkajs.ts';
import { ensureTopics, topicMetadata } from './topics.ts';

/** The default partitioner every producer uses (murmur2 of the key, as Java's): an item's partition is the same everywhere. */
const defaultPartitioner = Partitioners.DefaultPartitioner();

const M = 0x5bd1e995;
/** A key's bytes are written here when they fit (three bytes per UTF-16 unit at most): no buffer per message. */
const scratch = Buffer.allocUnsafe(4096);

/**
 * Kafka's murmur2 (Java's Utils.murmur2) in 32-bit arithmetic, the same hash as KafkaJS's default
 * partitioner computes with 64-bit Longs (whose low 32 bits are all it keeps): that one was a twentieth
 * of the connector's CPU.
 */
export function murmur2(key: string | Buffer): number {
  let data: Buffer;
  let length: number;
  if (Buffer.isBuffer(key)) [data, length] = [key, key.length];
  else if (key.length * 3 <= scratch.length) [data, length] = [scratch, scratch.write(key)];
  else [data, length] = [Buffer.from(key), Buffer.byteLength(key)];
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let index = 0; index < whole; index += 4) {
    let k = data[index]! | (data[index + 1]! << 8) | (data[index + 2]! << 16) | (data[index + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  return h ^ (h >>> 15);
}

/** The partition KafkaJS's default partitioner gives a message; the keyless and the pre-assigned go through it. */
function partitionOf(topic: string, message: Message, partitionMetadata: PartitionMetadata[]): number {
  if (message.partition == null && (typeof message.key === 'string' || Buffer.isBuffer(message.key)))
    return (murmur2(message.key) & 0x7fffffff) % partitionMetadata.length;
  return defaultPartitioner({ topic, partitionMetadata, message });
}

/**
 * Sends whose every partition is known beforehand and checked afterwards. KafkaJS 2.2.4 keeps one answer
 * per broker across the retries of a send (producer/sendMessages.js): when a partition's leader fails and
 * its new leader had already answered for other partitions of the same send, the retry skips that
 * broker, and the send resolves without ever writing that partition's records. Seen in the chaos run: a
 * transaction committed a round's checkpoints, and three change events of the partition whose leader was
 * killed were in no replica. So each message gets its partition here (as the default partitioner would
 * choose it) and a send whose answers do not cover every partition it addressed is an error: the caller's
 * transaction is aborted and the round is read again.
 */
export class PartitionedSends {
  private readonly partitionCounts = new Map<string, number>();

  constructor(private readonly kafka: Kafka) {}

  /** The messages with their partitions set (partitions already set are kept). */
  async assign(topicMessages: TopicMessages[]): Promise<TopicMessages[]> {
    await this.learnPartitionCounts(
      topicMessages.map(({ topic }) => topic).filter((topic) => !this.partitionCounts.has(topic)),
    );
    return topicMessages.map(({ topic, messages }) => {
      const partitionMetadata = Array.from({ length: this.partitionCounts.get(topic)! }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        replicas: [],
        isr: [],
        partitionErrorCode: 0,
      }));
      return {
        topic,
        messages: messages.map((message): Message => ({
          ...message,
          partition: partitionOf(topic, message, partitionMetadata),
        })),
      };
    });
  }

  /** The message once in every partition of its topic (a re-snapshot's SWEEP: each partition's owner applies it). */
  async inEveryPartition(topic: string, message: Message): Promise<Message[]> {
    return Array.from({ length: await this.partitionCount(topic) }, (_, partition) => ({ ...message, partition }));
  }

  /** The topic's partition count, learnt once (the topic is created as the pipeline creates its topics if missing). */
  async partitionCount(topic: string): Promise<number> {
    if (!this.partitionCounts.has(topic)) await this.learnPartitionCounts([topic]);
    return this.partitionCounts.get(topic)!;
  }

  private async learnPartitionCounts(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    // A topic nobody created yet (a dead-letter topic in a test, say) is created as the pipeline creates its
    // topics; a producer would otherwise have had the broker create it.
    await ensureTopics(this.kafka, topics);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const { name, partitions } of await topicMetadata(admin, topics)) {
        // A topic being created answers with no partitions, or partitions without a leader, for a moment:
        // its count is learnt once it is whole (the round is retried meanwhile).
        if (partitions.length === 0 || partitions.some(({ leader }) => leader < 0))
          throw new Error(`${name}: its partitions are not all ready yet`);
        this.partitionCounts.set(name, partitions.length);
      }
    } finally {
      await admin.disconnect();
    }
  }
}

/** Throws unless Kafka's answers to a send cover every partition its messages (with partitions assigned) went to. */
export function checkEveryPartitionAnswered(sent: TopicMessages[], answers: RecordMetadata[]): void {
  const answered = new Set(
    answers.filter((answer) => answer.errorCode === 0).map((answer) => `${answer.topicName}:${answer.partition}`),
  );
  const missing = new Set<string>();
  for (const { topic, messages } of sent) {
    for (const { partition } of messages)
      if (!answered.has(`${topic}:${partition}`)) missing.add(`${topic}:${partition}`);
  }
  if (missing.size > 0) throw new UnansweredPartitions([...missing]);
}

/** A send that resolved without Kafka's answer for some partitions: their records may not have been written. */
export class UnansweredPartitions extends Error {
  constructor(readonly partitions: string[]) {
    super(
      `Kafka did not acknowledge ${partitions.join(', ')} in a send that reported success (a leader changed during it); the transaction is aborted`,
    );
    this.name = 'UnansweredPartitions';
  }
}
