import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Barrier } from './barrier.ts';

export interface ReadToEndOptions {
  /**
   * Ends the read past this barrier (core/barrier.ts), placed by the caller just before, instead of at
   * the last stable offsets the read began with: the read then holds everything committed before the
   * barrier in its partition. Only that partition is complete when the read ends.
   */
  barrier?: Barrier;
  /** How long the read may go without a record before the barrier is given up on (an open transaction holds it back). */
  timeoutMs?: number;
}

/** Reads begun by this process: part of each read's group id. */
let readsBegun = 0;

/**
 * Reads a topic's committed records (read_committed) from its start up to its end as it is now, with a
 * throwaway consumer group, calling `onMessage` for each; `onMessage` returns true to stop early.
 *
 * "The end" is each partition's last stable offset when the read begins (the admin client lists
 * offsets read_committed): a transaction still open then is not waited for. A partition is done when
 * the consumer's position reaches that offset, which counts transaction markers and aborted records
 * too, so a partition ending in a marker is recognised without guessing from idle fetches (those also
 * come from brokers that hold none of the topic's partitions).
 */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  groupPrefix: string,
  onMessage: (partition: number, message: KafkaMessage) => boolean | void,
  { barrier, timeoutMs = 120_000 }: ReadToEndOptions = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = barrier
      ? [{ partition: barrier.partition, offset: String(BigInt(barrier.offset) + 1n), low: '0' }]
      : await admin.fetchTopicOffsets(topic);
    const remaining = new Map(
      ends.filter((end) => BigInt(end.offset) > BigInt(end.low)).map((end) => [end.partition, BigInt(end.offset)]),
    );
    if (remaining.size === 0) return;
    // Numbered too: reads begun together in one process (the units of a scaled-out connector) must not share a group.
    const groupId = `${groupPrefix}-${process.pid}-${Date.now()}-${++readsBegun}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, readUncommitted: false });
    await consumer.connect();
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      let done = false;
      await new Promise<void>((resolve, reject) => {
        const finish = () => {
          done = true;
          resolve();
        };
        const fail = (error: Error) => {
          done = true;
          reject(error);
        };
        // Nothing read for longer than `timeoutMs`: a long read of a large topic goes on, but a transaction
        // that stays open before a barrier, or a consumer that keeps failing on a record, does not hold the
        // caller for ever.
        let progressAt = Date.now();
        timer = setInterval(
          () => {
            if (Date.now() - progressAt < timeoutMs) return;
            fail(
              new Error(
                barrier
                  ? `${topic}: not read past the barrier at ${barrier.partition}:${barrier.offset}, nothing read for ${timeoutMs / 1000} s (a transaction begun before it is still open)`
                  : `${topic}: not read to its end, nothing read for ${timeoutMs / 1000} s`,
              ),
            );
          },
          Math.min(1_000, timeoutMs),
        );
        // A consumer that stops for good (refused, or an error KafkaJS does not retry) ends the read with its error.
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart) fail(payload.error);
        });
        const reached = (partition: number, lastOffset: string) => {
          const end = remaining.get(partition);
          if (end === undefined || BigInt(lastOffset) + 1n < end) return;
          remaining.delete(partition);
          if (remaining.size === 0) finish();
        };
        // Emitted for every fetched batch, also one holding only markers or aborted records, after its
        // messages were handed over; `lastOffset` is the batch's last offset, markers included.
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          progressAt = Date.now();
          if (!done && payload.topic === topic) reached(payload.partition, payload.lastOffset);
        });
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              // Records fetched before the consumer stops are not the caller's any more.
              if (done) return;
              if (onMessage(partition, message) === true) return finish();
              reached(partition, message.offset);
            },
          })
          .catch(reject);
      });
    } finally {
      clearInterval(timer);
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
}
