import { existsSync, readFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import { readToEnd } from '../../core/read-to-end.ts';
import { ChangeEventCodec } from '../../schemas/registry.ts';
import { testEndpoints } from '../harness/endpoints.ts';
import { changeTopics, type RunNames } from './config.ts';

/** One change event as a read_committed reader gets it back. */
export interface CommittedEvent {
  topic: string;
  partition: number;
  offset: string;
  eventId: string;
}

/** A change event the connector committed more than once: the offsets of its copies. */
export interface CommittedCopy {
  topic: string;
  partition: number;
  eventId: string;
  offsets: string[];
}

/** Every change event the change topics hold for a read_committed reader (tombstones left out). */
export async function readCommittedEvents(kafka: Kafka, names: RunNames): Promise<CommittedEvent[]> {
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const read: { topic: string; partition: number; offset: string; value: Buffer }[] = [];
  for (const topic of changeTopics(names)) {
    await readToEnd(kafka, topic, 'chaos-change-events', (partition, message) => {
      if (message.value) read.push({ topic, partition, offset: message.offset, value: message.value });
    });
  }
  return Promise.all(read.map(async ({ value, ...at }) => ({ ...at, eventId: (await codec.decode(value)).eventId })));
}

/**
 * Events committed twice or more in one partition. Every event id is one change (a stream record, or a row
 * of one snapshot run); only a sweep is written once to every partition, so copies are counted per partition.
 */
export function committedCopies(events: CommittedEvent[]): CommittedCopy[] {
  const offsets = new Map<string, CommittedCopy>();
  for (const { topic, partition, offset, eventId } of events) {
    const id = `${topic}\u0000${partition}\u0000${eventId}`;
    const copy = offsets.get(id);
    if (copy) copy.offsets.push(offset);
    else offsets.set(id, { topic, partition, eventId, offsets: [offset] });
  }
  return [...offsets.values()].filter((copy) => copy.offsets.length > 1);
}

/**
 * Rounds the connector aborted because KafkaJS was about to write records a second time (core/kafkajs-resend-guard.ts),
 * from its logs (JSON lines, every incarnation appended): each would have committed copies.
 */
export function resendsRefused(logPaths: string[]): number {
  let refused = 0;
  for (const path of logPaths.filter((candidate) => existsSync(candidate))) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.startsWith('{') || !line.includes('ResendRefused')) continue;
      const entry = JSON.parse(line) as { msg?: string };
      if (entry.msg === 'round failed; reading again from the committed checkpoints') refused++;
    }
  }
  return refused;
}
