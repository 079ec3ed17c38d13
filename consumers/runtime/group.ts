import { setTimeout as sleep } from 'node:timers/promises';
import type { Batch, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { backoffDelay, type Backoff } from '../../core/backoff.ts';
import { deadLetterMessage } from '../../core/dead-letter.ts';
import { isUnavailable } from '../../core/unavailable.ts';
import type { Logger } from '../../core/logger.ts';
import { isRegistryRefusal, type ChangeEventCodec } from '../../schemas/registry.ts';
import { groupMetrics as metrics } from './metrics.ts';
import type { Rejection, Sink, SinkRecord } from './sink.ts';

export interface ConsumerGroupOptions {
  groupId: string;
  topics: string[];
  kafka: Kafka;
  codec: ChangeEventCodec;
  sink: Sink;
  deadLetterTopic: string;
  /** Records a sink gets in one `apply`. */
  batchSize: number;
  /** Wait between attempts while the sink's store is down; the group retries until it stops. */
  backoff: Backoff;
  maxMessageBytes: number;
  logger: Logger;
  sessionTimeoutMs?: number;
}

/**
 * Runs one sink as its own consumer group, reading committed transactions only. Progress lives in the
 * sink's store: on (re)assignment a partition resumes at the offset the sink stored, whatever Kafka's
 * committed offset says, and redelivered records below it are skipped. Kafka offsets are committed too,
 * after the sink, so that lag is visible to the usual tools.
 */
export class ConsumerGroup {
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  /** Next offset per `topic:partition` since the last assignment; filled from the sink on first sight. */
  private readonly next = new Map<string, bigint>();
  private readonly log: Logger;

  constructor(private readonly options: ConsumerGroupOptions) {
    this.log = options.logger.child({ group: options.groupId });
  }

  async start(): Promise<void> {
    const { kafka, groupId, topics, sink, sessionTimeoutMs, codec } = this.options;
    await codec.checkAccess();
    await sink.open();
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    const sessionTimeout = sessionTimeoutMs ?? 30_000;
    // The rebalance timeout bounds how long a rebalance waits for members that died without leaving.
    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 250, sessionTimeout, rebalanceTimeout: sessionTimeout, heartbeatInterval: Math.min(3_000, sessionTimeout / 3) });
    this.consumer = consumer;
    // A new assignment may bring partitions another member was applying: ask the sink again.
    consumer.on(consumer.events.GROUP_JOIN, () => this.next.clear());
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ eachBatchAutoResolve: false, autoCommit: true, eachBatch: (payload) => this.handle(payload) });
    this.log.info({ topics }, 'consumer group started');
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    await this.options.sink.close();
  }

  private async handle(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { groupId, batchSize, sink } = this.options;
    const key = `${batch.topic}:${batch.partition}`;
    metrics.lag.set({ group: groupId, topic: batch.topic, partition: batch.partition }, Number(batch.offsetLag()));
    let next = this.next.get(key);
    if (next === undefined) {
      const loaded = await this.untilApplied(() => sink.progress(batch.topic, batch.partition), isRunning, isStale);
      if (!loaded) return;
      next = BigInt(loaded.value ?? '0');
      this.next.set(key, next);
      // Kafka's committed offset is ahead of the sink (its store was reset): go back to where the sink is.
      if (next < BigInt(batch.firstOffset() ?? '0')) {
        this.consumer!.seek({ topic: batch.topic, partition: batch.partition, offset: next.toString() });
        return;
      }
    }
    const fresh = batch.messages.filter((message) => BigInt(message.offset) >= next);
    const skipped = batch.messages.length - fresh.length;
    if (skipped > 0) {
      metrics.skipped.inc({ group: groupId }, skipped);
      if (fresh.length === 0) resolveOffset(batch.lastOffset());
    }
    for (let start = 0; start < fresh.length; start += batchSize) {
      if (!isRunning() || isStale()) return;
      const chunk = fresh.slice(start, start + batchSize);
      const { records, rejections } = await this.decode(chunk);
      await this.deadLetter(batch, rejections, 'decode');
      const lastOffset = chunk.at(-1)!.offset;
      const nextOffset = (BigInt(lastOffset) + 1n).toString();
      const applied = await this.untilApplied(
        () => sink.apply({ topic: batch.topic, partition: batch.partition, records, nextOffset }, (sinkRejections) => this.deadLetter(batch, sinkRejections, 'sink')),
        isRunning,
        isStale,
        heartbeat,
      );
      if (!applied) return;
      this.next.set(key, BigInt(nextOffset));
      metrics.records.inc({ group: groupId, topic: batch.topic }, chunk.length);
      resolveOffset(lastOffset);
      await heartbeat();
      await commitOffsetsIfNecessary();
    }
  }

  private async decode(messages: Batch['messages']): Promise<{ records: SinkRecord[]; rejections: (Rejection & { value: Buffer | null })[] }> {
    const records: SinkRecord[] = [];
    const rejections: (Rejection & { value: Buffer | null })[] = [];
    for (const message of messages) {
      const key = message.key?.toString() ?? '';
      if (message.value === null) {
        records.push({ offset: message.offset, key, event: null });
        continue;
      }
      try {
        records.push({ offset: message.offset, key, event: await this.options.codec.decode(message.value) });
      } catch (error) {
        if (isUnavailable(error) || isRegistryRefusal(error)) throw error;
        rejections.push({ offset: message.offset, reason: `cannot decode: ${(error as Error).message}`, value: message.value });
      }
    }
    return { records, rejections };
  }

  /**
   * Retries while the sink's store is unavailable, never advancing. Returns undefined when the group
   * is stopping or lost the partition: the records are then read again by whoever owns it.
   */
  private async untilApplied<T>(call: () => Promise<T>, isRunning: () => boolean, isStale: () => boolean, heartbeat?: () => Promise<void>): Promise<{ value: T } | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { value: await call() };
      } catch (error) {
        if (!isRunning() || isStale()) return undefined;
        metrics.retries.inc({ group: this.options.groupId });
        this.log.warn({ err: error, attempt }, `${this.options.sink.name} unavailable; retrying`);
        await sleep(backoffDelay(this.options.backoff, attempt));
        await heartbeat?.().catch(() => undefined);
      }
    }
  }

  private async deadLetter(batch: Batch, rejections: (Rejection & { value?: Buffer | null })[], reason: string): Promise<void> {
    if (rejections.length === 0) return;
    const { groupId, deadLetterTopic, maxMessageBytes } = this.options;
    const messages = rejections.map((rejection) => {
      const message = batch.messages.find((candidate) => candidate.offset === rejection.offset);
      const origin = { stage: groupId, source: batch.topic, shard: String(batch.partition), position: rejection.offset };
      return deadLetterMessage(origin, rejection.reason, { key: message?.key?.toString(), value: message?.value?.toString('base64') ?? null }, message?.key?.toString() ?? null, maxMessageBytes);
    });
    await this.producer!.send({ topic: deadLetterTopic, acks: -1, messages });
    metrics.deadLetters.inc({ group: groupId, reason }, rejections.length);
  }
}
