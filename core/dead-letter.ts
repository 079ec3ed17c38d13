import type { IHeaders, Message } from 'kafkajs';

/** Where a dead record came from: enough to find it again and to replay it. */
export interface DeadLetterOrigin {
  /** `connector` or the consumer group. */
  stage: string;
  /** Stream ARN, Kinesis stream, table scan, or Kafka topic. */
  source: string;
  /** Shard id, scan segment, or Kafka partition. */
  shard: string;
  /** Sequence number, scan row, or Kafka offset. */
  position: string;
  table?: string;
  /**
   * The change's version where the source knows it without converting (DynamoDB Streams, table scans): a replay
   * gives the change this version, the one it had when it was dead-lettered, whatever stream the table has since.
   * A Streams letter without one was written by a Shardline that versioned a change by its bare sequence number.
   */
  version?: string;
}

const bytesAsBase64 = (_key: string, value: unknown): unknown =>
  value instanceof Uint8Array
    ? { $binary: Buffer.from(value).toString('base64') }
    : typeof value === 'bigint'
      ? value.toString()
      : value;

/** What a dead letter's value holds. */
export interface DeadLetterBody {
  reason: string;
  origin: DeadLetterOrigin;
  /** The original record; a string cut in half when the whole did not fit (`truncated`). */
  record: unknown;
  truncated?: true;
}

/**
 * Whether a record of the dead-letter topic is a letter: every letter carries its stage. KafkaJS's
 * read_committed filter can let an aborted record through when several producers' aborted transactions
 * interleave in a partition (it takes them in the order the broker lists them, by end, not start), and the
 * groups' dead-letter producers abort a barrier each (core/barrier.ts): readers skip what is not a letter.
 */
export const isDeadLetter = (message: { headers?: IHeaders }): boolean =>
  message.headers?.shardline_dlq_stage !== undefined;

/** Reads a dead letter's value back, with binary values as bytes again. */
export function readDeadLetterBody(value: Buffer): DeadLetterBody {
  return JSON.parse(value.toString('utf8'), (_key, field: unknown) =>
    field !== null &&
    typeof field === 'object' &&
    typeof (field as { $binary?: unknown }).$binary === 'string' &&
    Object.keys(field).length === 1
      ? new Uint8Array(Buffer.from((field as { $binary: string }).$binary, 'base64'))
      : field,
  ) as DeadLetterBody;
}

/**
 * A dead-letter record: the reason and origin in headers (so tools can filter without decoding) and
 * the original record in the value, cut to `maxBytes` when it is itself too large for the broker.
 */
export function deadLetterMessage(
  origin: DeadLetterOrigin,
  reason: string,
  record: unknown,
  key: string | null,
  maxBytes: number,
): Message {
  let body = Buffer.from(JSON.stringify({ reason, origin, record }, bytesAsBase64));
  const truncated = body.length > maxBytes;
  if (truncated)
    body = Buffer.from(
      JSON.stringify({ reason, origin, truncated: true, record: body.subarray(0, maxBytes / 2).toString('utf8') }),
    );
  const headers: IHeaders = {
    shardline_dlq_reason: reason.slice(0, 1000),
    shardline_dlq_stage: origin.stage,
    shardline_dlq_source: origin.source,
    shardline_dlq_shard: origin.shard,
    shardline_dlq_position: origin.position,
    shardline_dlq_at: new Date().toISOString(),
  };
  if (origin.table) headers.shardline_dlq_table = origin.table;
  return { key, value: body, headers };
}
