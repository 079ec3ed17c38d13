import type { Message, PartitionMetadata } from 'kafkajs';
import { isCheckedKafkaJs, kafkaJsRequire as require } from './kafkajs-internals.ts';

/**
 * KafkaJS 2.2.4 groups a send's messages by partition by copying the partition's array for every message
 * it adds (producer/groupMessagesPerPartition.js): quadratic in a send's messages per partition. A
 * connector round's send of ~800 records to one partition allocated ~2.4 MB that way, a fifth of all the
 * connector allocated. This groups them in one pass, into the same object. KafkaJS's send takes the function
 * when its module is loaded, so this must be installed before KafkaJS is: core/kafka.ts imports this module
 * before KafkaJS. Loaded after, KafkaJS keeps its own grouping (slower, the same result).
 */
const GROUPING_MODULE = 'kafkajs/src/producer/groupMessagesPerPartition.js';
const SEND_MODULE = 'kafkajs/src/producer/sendMessages.js';

type Partitioner = (input: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => number;

export function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  messages: Message[];
  partitioner: Partitioner;
}): Record<number, Message[]> {
  const grouped: Record<number, Message[]> = {};
  if (partitionMetadata.length === 0) return grouped;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (grouped[partition] ??= []).push(message);
  }
  return grouped;
}

/** True when KafkaJS's sends group with `groupMessagesPerPartition`. */
export const linearGroupingInstalled: boolean = (() => {
  if (!isCheckedKafkaJs() || require.cache[require.resolve(SEND_MODULE)]) return false;
  const path = require.resolve(GROUPING_MODULE);
  require(path);
  require.cache[path]!.exports = groupMessagesPerPartition;
  return true;
})();
