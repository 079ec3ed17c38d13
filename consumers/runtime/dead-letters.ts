import type { Batch, Kafka, Producer } from 'kafkajs';
import { placeBarrier } from '../../core/barrier.ts';
import { deadLetterMessage } from '../../core/dead-letter.ts';
import { isFenced } from '../../core/errors.ts';
import { PartitionedSends } from '../../core/partitioned-send.ts';
import { readToEnd } from '../../core/read-to-end.ts';
import type { Rejection } from './sink.ts';

export interface DeadLettersOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  maxMessageBytes: number;
}

/** What this member knows of one source partition's letters, and the producer that writes them. */
interface PartitionLetters {
  producer: Producer;
  /** The dead-letter partition all of this source partition's letters go to. */
  partition: number;
  /** Offsets of the source partition that already have their letter. */
  written: Set<string>;
}

/**
 * A consumer group's dead letters, exactly once per record. A sink's progress lives in its store, so a
 * crash after the letter and before the progress replays the record and refuses it again. Each source
 * partition's letters therefore go through a transactional producer of its own (a member that takes the
 * partition over fences the previous owner's) into one dead-letter partition, and before its first letter
 * the member reads that partition past a barrier it placed (core/barrier.ts): every letter already
 * written for the partition, by any earlier owner, is known and not written again.
 */
export class DeadLetters {
  private readonly partitions = new Map<string, Promise<PartitionLetters>>();
  /** The dead-letter topic's partition count, learnt once. */
  private readonly topicPartitions: PartitionedSends;

  constructor(private readonly options: DeadLettersOptions) {
    this.topicPartitions = new PartitionedSends(options.kafka);
  }

  /** Writes the letters of `rejections` not written before; returns how many it wrote. */
  async write(batch: Batch, rejections: Rejection[]): Promise<number> {
    if (rejections.length === 0) return 0;
    const key = `${batch.topic}:${batch.partition}`;
    let pending = this.partitions.get(key);
    if (!pending) {
      pending = this.open(batch.topic, batch.partition);
      this.partitions.set(key, pending);
    }
    let letters: PartitionLetters;
    try {
      letters = await pending;
    } catch (error) {
      this.partitions.delete(key);
      throw error;
    }
    const { groupId, topic, maxMessageBytes } = this.options;
    const fresh = rejections.filter((rejection) => !letters.written.has(rejection.offset));
    if (fresh.length === 0) return 0;
    const messages = fresh.map((rejection) => {
      const message = batch.messages.find((candidate) => candidate.offset === rejection.offset);
      const origin = {
        stage: groupId,
        source: batch.topic,
        shard: String(batch.partition),
        position: rejection.offset,
      };
      const record = { key: message?.key?.toString(), value: message?.value?.toString('base64') ?? null };
      return {
        ...deadLetterMessage(origin, rejection.reason, record, message?.key?.toString() ?? null, maxMessageBytes),
        partition: letters.partition,
      };
    });
    const transaction = await letters.producer.transaction();
    try {
      await transaction.send({ topic, acks: -1, messages });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      // Whether it was written is unknown now: the next attempt fences again and reads what is there.
      await this.forget(key);
      if (isFenced(error))
        throw new PartitionTakenOver(
          `dead letters of ${key}: another member of ${groupId} has taken the partition over`,
        );
      throw error;
    }
    for (const rejection of fresh) letters.written.add(rejection.offset);
    return fresh.length;
  }

  /** After a new assignment another member may have written letters: read them again when next needed. */
  async reset(): Promise<void> {
    await Promise.all([...this.partitions.keys()].map((key) => this.forget(key)));
  }

  async close(): Promise<void> {
    await this.reset();
  }

  private async forget(key: string): Promise<void> {
    const pending = this.partitions.get(key);
    this.partitions.delete(key);
    const letters = await pending?.catch(() => undefined);
    await letters?.producer.disconnect().catch(() => undefined);
  }

  private async open(sourceTopic: string, sourcePartition: number): Promise<PartitionLetters> {
    const { kafka, groupId, topic } = this.options;
    const partition = sourcePartition % (await this.topicPartitions.partitionCount(topic));
    const producer = kafka.producer({
      transactionalId: `shardline-dead-letters-${groupId}-${sourceTopic}-${sourcePartition}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const barrier = await placeBarrier(producer, topic, partition);
      const written = new Set<string>();
      const header = (headers: Record<string, unknown> | undefined, name: string) => String(headers?.[name] ?? '');
      await readToEnd(
        kafka,
        topic,
        'shardline-dead-letters',
        (from, message) => {
          if (from !== partition) return;
          const headers = message.headers as Record<string, unknown> | undefined;
          if (
            header(headers, 'shardline_dlq_stage') === groupId &&
            header(headers, 'shardline_dlq_source') === sourceTopic &&
            header(headers, 'shardline_dlq_shard') === String(sourcePartition)
          ) {
            written.add(header(headers, 'shardline_dlq_position'));
          }
        },
        { barrier },
      );
      return { producer, partition, written };
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }
}

/** Another member fenced this one's dead-letter producer: the partition is its now, this member lets go of the batch. */
export class PartitionTakenOver extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartitionTakenOver';
  }
}
