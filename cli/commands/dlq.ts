import type { KafkaMessage, TopicMessages } from 'kafkajs';
import { parseSnapshotStreamId } from '../../connector/checkpoint-keys.ts';
import { changeMessages, topicFor } from '../../connector/events/routing.ts';
import type { ShardSource } from '../../connector/shards/source.ts';
import type { ShardlineConfig } from '../config/schema.ts';
import { isDeadLetter, readDeadLetterBody, type DeadLetterOrigin } from '../../core/dead-letter.ts';
import type { Progress } from '../../core/progress.ts';
import { readToEnd } from '../../core/read-to-end.ts';
import { isUnavailable } from '../../core/unavailable.ts';
import { SchemaRegistrationError } from '../../schemas/registry.ts';
import { buildSources, codecOf, kafkaOf } from '../pipeline.ts';

export interface DeadLetter {
  offset: string;
  partition: number;
  reason: string;
  stage: string;
  source: string;
  shard: string;
  position: string;
  at: string;
  message: KafkaMessage;
}

const header = (message: KafkaMessage, name: string): string => message.headers?.[name]?.toString() ?? '';

/** Reads the dead-letter topic from the start (up to `limit` records). */
export async function listDeadLetters(config: ShardlineConfig, limit: number): Promise<DeadLetter[]> {
  const kafka = kafkaOf(config, 'dlq');
  const topic = config.connector.topics.deadLetter;
  const admin = kafka.admin();
  await admin.connect();
  const exists = (await admin.listTopics()).includes(topic);
  await admin.disconnect();
  if (!exists) return [];
  const letters: DeadLetter[] = [];
  await readToEnd(kafka, topic, 'shardline-dlq-reader', (partition, message) => {
    if (!isDeadLetter(message)) return false;
    letters.push({
      offset: message.offset,
      partition,
      message,
      reason: header(message, 'shardline_dlq_reason'),
      stage: header(message, 'shardline_dlq_stage'),
      source: header(message, 'shardline_dlq_source'),
      shard: header(message, 'shardline_dlq_shard'),
      position: header(message, 'shardline_dlq_position'),
      at: header(message, 'shardline_dlq_at'),
    });
    return letters.length >= limit;
  });
  return letters;
}

/** A dead letter that could not be put back, and why; it stays in the dead-letter topic. */
export interface ReplayFailure {
  partition: number;
  offset: string;
  stage: string;
  reason: string;
}

/**
 * Puts dead letters back where they would have gone, once their cause is fixed (a missing default, a size
 * limit, a conversion bug fixed by an upgrade). A consumer group's letter holds the Kafka record: it goes back
 * on its topic. A connector letter holds the source record: its table's source converts it again and the
 * event goes to its change topic. Every group sees them again, which the sinks absorb (a late older
 * version never replaces a newer one). A letter that still fails is reported and left where it is.
 */
export async function replayDeadLetters(
  config: ShardlineConfig,
  letters: DeadLetter[],
  progress?: Progress,
): Promise<{ replayed: number; failed: ReplayFailure[] }> {
  const failed: ReplayFailure[] = [];
  let replayed = 0;
  let reconvert: ((letter: DeadLetter) => Promise<TopicMessages>) | undefined;
  const producer = kafkaOf(config, 'dlq-replay').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const letter of letters) {
      try {
        let messages: TopicMessages;
        if (letter.stage === 'connector') {
          reconvert ??= await connectorReconversion(config);
          messages = await reconvert(letter);
        } else {
          messages = consumerRecord(letter);
        }
        await producer.send({ ...messages, acks: -1 });
        replayed++;
      } catch (error) {
        if (isUnavailable(error) || error instanceof SchemaRegistrationError) throw error;
        failed.push({
          partition: letter.partition,
          offset: letter.offset,
          stage: letter.stage,
          reason: (error as Error).message,
        });
      }
      progress?.advance();
    }
    progress?.finish();
  } finally {
    await producer.disconnect();
  }
  return { replayed, failed };
}

function consumerRecord(letter: DeadLetter): TopicMessages {
  const { record } = readDeadLetterBody(letter.message.value!) as { record: { key?: string; value: string | null } };
  return {
    topic: letter.source,
    messages: [{ key: record.key ?? null, value: record.value === null ? null : Buffer.from(record.value, 'base64') }],
  };
}

/** Converts connector letters again with the configured tables' sources, as the connector would have. */
async function connectorReconversion(config: ShardlineConfig): Promise<(letter: DeadLetter) => Promise<TopicMessages>> {
  const { sources, snapshotOf } = await buildSources(config);
  const codec = codecOf(config);
  const { topics, maxMessageBytes, tables } = config.connector;
  const sourceOf = (origin: DeadLetterOrigin): ShardSource | undefined => {
    const exact = sources.find((source) => source.streamId === origin.source);
    if (exact) return exact;
    // Re-snapshot runs are not configured sources; a table's stream may have been re-created since.
    const scan = parseSnapshotStreamId(origin.source);
    const table = tables.find((candidate) => candidate.name === (scan ? scan.table : origin.table));
    if (!table) return undefined;
    return scan
      ? snapshotOf(table, scan.run)
      : sources.find((source) => source.table === table.name && source.kind !== 'SNAPSHOT');
  };
  return async (letter) => {
    const body = readDeadLetterBody(letter.message.value!);
    if (body.truncated)
      throw new Error('the source record was cut to fit the dead-letter topic; re-snapshot the table to cover it');
    const source = sourceOf(body.origin);
    if (!source) throw new Error(`no configured table reads ${body.origin.source}`);
    const converted = (await source.revive(body.origin.shard, body.record)).toEvent();
    // A change keeps the version it had: the table's stream may be another since, and a re-snapshot row's is
    // its run's. A stream letter of an older Shardline carries none (its changes were versioned by their
    // sequence numbers), nor does a re-snapshot letter of one (its row replays at version 0, as it did then).
    const version = body.origin.version ?? (source.kind === 'DYNAMODB_STREAMS' ? body.origin.position : undefined);
    const event = version === undefined ? converted : { ...converted, version };
    const topic = topicFor(topics.template, event);
    const value = await codec.encode(topic, event);
    if (value.length > maxMessageBytes)
      throw new Error(`the event is ${value.length} bytes, over the ${maxMessageBytes}-byte limit`);
    return { topic, messages: changeMessages(event, value, topics.tombstones) };
  };
}
