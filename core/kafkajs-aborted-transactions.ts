import { createRequire } from 'node:module';

/**
 * KafkaJS (2.2.4) leaves out the records of aborted transactions by walking a fetch's messages and entering
 * ONE aborted transaction per message whose offset reached the next one's first offset. A fetch that begins
 * inside several aborted transactions (of several producers) enters them one message at a time, and hands
 * over the records of the ones not yet entered: a read_committed consumer receives aborted records. The
 * Java client enters every aborted transaction that has begun before each record. This does the same on
 * each fetch response before KafkaJS sees it: an aborted record is marked as a control record (skipped,
 * while the consumer still moves past its offset), and KafkaJS's own filter is given nothing to do.
 */

interface FetchedMessage {
  offset: string;
  key?: Buffer | null;
  isControlRecord?: boolean;
  batchContext?: { producerId: string; inTransaction: boolean };
}

interface FetchedPartition {
  messages: FetchedMessage[];
  abortedTransactions?: { producerId: string; firstOffset: string }[];
}

interface FetchResponse {
  responses: { topicName: string; partitions: FetchedPartition[] }[];
}

/** The key of an abort marker (a control record's key: version 0, type 0 = abort). */
const ABORT_MARKER = Buffer.from([0, 0, 0, 0]);

/** Marks the partition's records that belong to aborted transactions as control records. */
export function skipAbortedRecords(partition: FetchedPartition): void {
  const aborted = [...(partition.abortedTransactions ?? [])].sort((a, b) =>
    BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : 1,
  );
  if (aborted.length === 0) return;
  const active = new Set<string>();
  let next = 0;
  for (const message of partition.messages) {
    const offset = BigInt(message.offset);
    while (next < aborted.length && BigInt(aborted[next]!.firstOffset) <= offset)
      active.add(String(aborted[next++]!.producerId));
    const producerId = String(message.batchContext?.producerId);
    if (message.isControlRecord) {
      // The abort marker ends the producer's aborted transaction; a commit marker ends one that was not.
      if (message.key && Buffer.from(message.key).equals(ABORT_MARKER)) active.delete(producerId);
    } else if (message.batchContext?.inTransaction && active.has(producerId)) {
      message.isControlRecord = true;
    }
  }
  partition.abortedTransactions = [];
}

let installed = false;

/** Installs the filter on KafkaJS's broker connection (every consumer of the process goes through it). */
export function installAbortedTransactionFilter(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const Broker = require('kafkajs/src/broker/index.js') as {
    prototype: { fetch(...args: unknown[]): Promise<FetchResponse> };
  };
  const fetch = Broker.prototype.fetch;
  Broker.prototype.fetch = async function fetchWithoutAborted(
    this: unknown,
    ...args: unknown[]
  ): Promise<FetchResponse> {
    const response = await fetch.apply(this, args);
    for (const { partitions } of response.responses) for (const partition of partitions) skipAbortedRecords(partition);
    return response;
  };
}
