import type { Kafka, KafkaMessage } from 'kafkajs';

/**
 * Reads a topic's committed records (read_committed) from its start up to its end as it is now, with a
 * throwaway consumer group, calling `onMessage` for each; `onMessage` returns true to stop early.
 */
export async function readToEnd(kafka: Kafka, topic: string, groupPrefix: string, onMessage: (partition: number, message: KafkaMessage) => boolean | void): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const remaining = new Map(ends.filter((end) => BigInt(end.offset) > BigInt(end.low)).map((end) => [end.partition, BigInt(end.offset)]));
    if (remaining.size === 0) return;
    const groupId = `${groupPrefix}-${process.pid}-${Date.now()}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, readUncommitted: false });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      let done = false;
      await new Promise<void>((resolve, reject) => {
        const finish = () => {
          done = true;
          resolve();
        };
        let idleFetches = 0;
        // The end offset can sit after a transaction marker, which is never delivered: a few empty
        // fetches past the last record mean the end was reached.
        consumer.on(consumer.events.FETCH, () => {
          if (++idleFetches >= 5) finish();
        });
        consumer.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            // Records fetched before the consumer stops are not the caller's any more.
            if (done) return;
            idleFetches = 0;
            if (onMessage(partition, message) === true) return finish();
            const end = remaining.get(partition);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) {
              remaining.delete(partition);
              if (remaining.size === 0) finish();
            }
          },
        }).catch(reject);
      });
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
}
