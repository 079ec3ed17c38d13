import type { Producer } from 'kafkajs';

/** A position in one partition that a read_committed read must pass. */
export interface Barrier {
  partition: number;
  offset: string;
}

/**
 * Places a barrier: a record in a transaction of its own that is aborted at once, so no read_committed
 * reader ever sees it, by a transactional producer that has just fenced its predecessors. A read_committed
 * consumer gets past its offset only once every transaction begun before it has ended, so a read up to it
 * holds everything committed before it in that partition. Listing the last stable offset is not enough:
 * right after fencing it was seen to lag behind the last commit on a three-broker cluster, and another
 * producer's open transaction holds it down.
 */
export async function placeBarrier(producer: Producer, topic: string, partition: number): Promise<Barrier> {
  const transaction = await producer.transaction();
  try {
    const [written] = await transaction.send({
      topic,
      messages: [{ key: 'shardline-barrier', value: null, partition }],
    });
    if (written?.baseOffset === undefined) throw new Error(`${topic}: the broker did not say where the barrier went`);
    return { partition, offset: written.baseOffset };
  } finally {
    await transaction.abort();
  }
}
