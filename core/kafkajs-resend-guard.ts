/**
 * KafkaJS retries a send by sending again to every leader it holds no answer from, and it does not wait for
 * the requests of the failed attempt: a request still on its way (acks=all, a replica just died) gets a
 * second one queued behind it to the same broker. When the first succeeds, KafkaJS has advanced the
 * partition's sequence, so the second carries the same records under the next sequence number, and the
 * broker writes them again; its answer replaces the first, so nothing in the send's result shows it. A
 * chaos run found events twice in one transaction this way (offsets 23-26 and 27-30, sequences 18-21 and
 * 22-25). A leader that moved after answering leads to the same: the records sent again, numbered anew.
 *
 * An idempotent producer sends given records under one sequence number only, however often it retries
 * (the broker then recognises a copy). So a produce request that would send a partition's records under
 * another sequence number than before is refused before it is sent: the send fails, and the transaction
 * is aborted, where it would have been committed with the records twice.
 */

/** The parts of a produce request's input the guard reads (KafkaJS's `topicData`). */
export interface GuardedProduce {
  producerId?: unknown;
  producerEpoch?: number;
  topicData: { topic: string; partitions: { partition: number; firstSequence?: number; messages: object[] }[] }[];
}

/** Where a send's first record of a partition went first: its producer, partition and sequence number. */
const firstSent = new WeakMap<object, { producer: string; partition: string; sequence: number }>();

/** A send would have written records a second time (see above). Not retriable: the send fails. */
export class ResendRefused extends Error {
  readonly retriable = false;

  constructor(topic: string, partition: number, before: number, now: number) {
    super(
      `KafkaJS was about to write records of ${topic}:${partition} a second time (sequence ${now}, sent at ${before} before; a retry after a leader or replica failed); the send is refused so the transaction is aborted, not committed with them twice`,
    );
    this.name = 'ResendRefused';
  }
}

/**
 * Throws ResendRefused when a request of an idempotent producer carries a partition's records under another
 * sequence number than they went out with before. KafkaJS gives a partition's batch the same message
 * objects in the same order on every attempt, so its first record stands for the batch.
 */
export function refuseResends({ producerId, producerEpoch, topicData }: GuardedProduce): void {
  if (producerId === undefined || producerId === null || String(producerId) === '-1') return;
  const producer = `${String(producerId)}:${producerEpoch ?? 0}`;
  for (const { topic, partitions } of topicData) {
    for (const { partition, firstSequence, messages } of partitions) {
      const first = messages[0];
      if (first === undefined || firstSequence === undefined) continue;
      const sent = firstSent.get(first);
      const at = `${topic}:${partition}`;
      // Another partition (a keyless record KafkaJS's partitioner moved on a retry) numbers it anew: not a resend.
      if (!sent || sent.producer !== producer || sent.partition !== at)
        firstSent.set(first, { producer, partition: at, sequence: firstSequence });
      else if (sent.sequence !== firstSequence) throw new ResendRefused(topic, partition, sent.sequence, firstSequence);
    }
  }
}
