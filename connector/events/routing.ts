import type { IHeaders, Message } from 'kafkajs';
import type { ChangeEvent, Op } from '../../schemas/change-event.ts';
import { canonicalKey } from '../../schemas/change-event.ts';

/** Topic names from a template with `{table}` and `{entity}`, e.g. `shardline.{table}.{entity}`. */
export function topicFor(template: string, event: Pick<ChangeEvent, 'table' | 'entity'>): string {
  return template.replaceAll('{table}', sanitize(event.table)).replaceAll('{entity}', sanitize(event.entity));
}

// Kafka topic names allow [a-zA-Z0-9._-].
const sanitize = (part: string): string => part.replace(/[^a-zA-Z0-9._-]/g, '_');

const VERBS: Record<Op, string> = {
  INSERT: 'created',
  MODIFY: 'updated',
  REMOVE: 'deleted',
  SNAPSHOT: 'snapshot',
  SWEEP: 'swept',
};

/** `order.created`, `order.updated`, `order.deleted`, `order.snapshot`: the domain-event type. */
export const eventType = (event: Pick<ChangeEvent, 'entity' | 'op'>): string => `${event.entity}.${VERBS[event.op]}`;

/** CloudEvents 1.0 attributes in the Kafka protocol binding's `ce_` headers. */
export function cloudEventHeaders(event: ChangeEvent, subject = canonicalKey(event.keys)): IHeaders {
  const headers: IHeaders = {
    ce_specversion: '1.0',
    ce_id: event.eventId,
    ce_type: eventType(event),
    ce_source: `shardline:${event.source.kind.toLowerCase()}:${event.source.region}:${event.table}`,
    ce_subject: subject,
    ce_time: new Date(Math.floor(event.source.approximateCreationTimeMicros / 1000)).toISOString(),
    'content-type': 'application/avro',
  };
  if (event.source.ttlDelete) headers.shardline_ttl_delete = 'true';
  return headers;
}

/**
 * The Kafka records of one change: the event keyed by the item, then a tombstone after a REMOVE when
 * asked (`key`, the item's canonical key, when the caller has it). Tombstones are for compacted topics only (the config allows them with `topics.compaction`): their
 * min.compaction.lag.ms keeps the REMOVE event itself readable for deleteRetentionMs before compaction
 * may drop it in favour of the tombstone.
 */
export function changeMessages(
  event: ChangeEvent,
  value: Buffer,
  tombstones: boolean,
  key = canonicalKey(event.keys),
): Message[] {
  const messages: Message[] = [{ key, value, headers: cloudEventHeaders(event, key) }];
  if (event.op === 'REMOVE' && tombstones) messages.push({ key, value: null });
  return messages;
}
