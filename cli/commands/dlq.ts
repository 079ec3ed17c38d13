import type { KafkaMessage } from 'kafkajs';
import type { ShardlineConfig } from '../../core/config/schema.ts';
import { kafkaOf } from '../pipeline.ts';

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
  const ends = await admin.fetchTopicOffsets(topic).catch(() => []);
  await admin.disconnect();
  const total = ends.reduce((sum, end) => sum + Number(end.high) - Number(end.low), 0);
  const wanted = Math.min(total, limit);
  if (wanted === 0) return [];
  const consumer = kafka.consumer({ groupId: `shardline-dlq-reader-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200 });
  const letters: DeadLetter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 15_000);
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        letters.push({
          offset: message.offset, partition, message,
          reason: header(message, 'shardline_dlq_reason'), stage: header(message, 'shardline_dlq_stage'), source: header(message, 'shardline_dlq_source'),
          shard: header(message, 'shardline_dlq_shard'), position: header(message, 'shardline_dlq_position'), at: header(message, 'shardline_dlq_at'),
        });
        if (letters.length >= wanted) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return letters;
}

/**
 * Puts dead letters of consumer groups back on the topic they came from (after the cause was fixed, for
 * example a missing default in the entity's fields); every group sees them again, which idempotent sinks
 * absorb. Dead letters of the connector hold the raw source record: those are covered by a re-snapshot.
 */
export async function replayDeadLetters(config: ShardlineConfig, letters: DeadLetter[]): Promise<{ replayed: number; skipped: number }> {
  const replayable = letters.filter((letter) => letter.stage !== 'connector');
  if (replayable.length === 0) return { replayed: 0, skipped: letters.length };
  const producer = kafkaOf(config, 'dlq-replay').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const letter of replayable) {
      const body = JSON.parse(letter.message.value!.toString()) as { record: { key?: string; value: string | null } };
      await producer.send({ topic: letter.source, acks: -1, messages: [{ key: body.record.key ?? null, value: body.record.value === null ? null : Buffer.from(body.record.value, 'base64') }] });
    }
  } finally {
    await producer.disconnect();
  }
  return { replayed: replayable.length, skipped: letters.length - replayable.length };
}
