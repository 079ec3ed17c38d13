import type { Message, TopicMessages } from 'kafkajs';

/** A message's bytes on the wire, near enough: value, key, and header names and values. */
export function messageSize(message: Message): number {
  let size =
    (message.value?.length ?? 0) +
    (typeof message.key === 'string' ? Buffer.byteLength(message.key) : (message.key?.length ?? 0));
  // Asked of every message of a round: without an array per header, as Object.entries makes.
  const headers = message.headers;
  if (headers) for (const name in headers) size += name.length + String(headers[name]).length;
  return size;
}

/** Splits a round's messages into sends of at most `maxBytes` (a single larger message goes alone). */
export function chunkBySize(topicMessages: TopicMessages[], maxBytes: number): TopicMessages[][] {
  const chunks: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const { topic, messages } of topicMessages) {
    let slice: Message[] = [];
    current.push({ topic, messages: slice });
    for (const message of messages) {
      const bytes = messageSize(message);
      if (size + bytes > maxBytes && size > 0) {
        chunks.push(current);
        slice = [];
        current = [{ topic, messages: slice }];
        size = 0;
      }
      slice.push(message);
      size += bytes;
    }
  }
  chunks.push(current);
  return chunks.map((chunk) => chunk.filter((entry) => entry.messages.length > 0)).filter((chunk) => chunk.length > 0);
}
