import { createRequire } from 'node:module';
import { refuseResends } from '../core/kafkajs-resend-guard.ts';
import { crc32c } from './crc32c.ts';
import {
  installRecordEncoder,
  recordLayout,
  writeRecord,
  type EncodedRecord,
  type RecordInput,
  type RecordLayout,
} from './kafka-record-encoder.ts';

/**
 * KafkaJS's produce request (v3, which v4 to v7 reuse) written into one buffer sized beforehand, byte for
 * byte as KafkaJS writes it. KafkaJS builds a request from nested encoders that each start at 512 zeroed
 * bytes and double as they grow, copying every record five times over (record, batch body, batch, partition,
 * topic, request) and checksumming a byte at a time: with the records, that was half of the connector's CPU.
 * Here the records are measured, one buffer is allocated, and everything is written in place; the batch's
 * CRC-32C is computed over its bytes where they lie.
 *
 * Installed like the record encoder (see kafka-record-encoder.ts), on the KafkaJS version both were checked
 * against. A compressed request, or any record the record encoder leaves to KafkaJS, is encoded by KafkaJS.
 */

const require = createRequire(import.meta.url);
const REQUEST_MODULE = 'kafkajs/src/protocol/requests/produce/v3/request.js';
const LATER_REQUESTS = [4, 5, 6, 7].map((version) => `kafkajs/src/protocol/requests/produce/v${version}/request.js`);

interface Int64 {
  getHighBits(): number;
  getLowBits(): number;
}
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): Int64 };

const MAGIC_BYTE = 2;
const TRANSACTIONAL_FLAG = 16;

export interface ProduceMessage extends RecordInput {
  timestamp?: string | number;
}

export interface ProduceRequestInput {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: {
    topic: string;
    partitions: { partition: number; firstSequence?: number; messages: ProduceMessage[] }[];
  }[];
}

interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<EncodedRecord>;
}

type ProduceRequestFactory = (input: ProduceRequestInput) => ProduceRequest;

/** A batch measured: its records, and its bytes from the first offset to the end. */
interface BatchLayout {
  partition: number;
  firstSequence: number;
  firstTimestamp: unknown;
  maxTimestamp: unknown;
  records: RecordLayout[];
  size: number;
}

/** From the first offset through the first sequence: 8 + 4 + 4 + 1 + 4 (CRC) + 2 + 4 + 8 + 8 + 8 + 2 + 4. */
const BATCH_HEADER_BYTES = 57;
/** Where the CRC'd bytes of a batch begin (attributes on), from the batch's first offset. */
const CRC_FROM = 21;

/** The batch of one partition's messages, with the timestamps and deltas KafkaJS gives them; undefined if it leaves a record to KafkaJS. */
function batchLayout(
  partition: number,
  firstSequence: number,
  messages: ProduceMessage[],
  now: number,
): BatchLayout | undefined {
  // KafkaJS sorts the timestamps as it finds them (strings sort as strings) and takes the first and last.
  const timestamps = messages
    .map((message) => message.timestamp)
    .filter((timestamp) => timestamp != null)
    .sort();
  const firstTimestamp = timestamps.length === 0 ? now : timestamps[0]!;
  const maxTimestamp = timestamps.length === 0 ? now : timestamps[timestamps.length - 1]!;
  const records: RecordLayout[] = [];
  let size = BATCH_HEADER_BYTES + 4;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index]!;
    const timestampDelta = ((message.timestamp || now) as number) - (firstTimestamp as number);
    const layout = recordLayout({
      key: message.key,
      value: message.value,
      headers: message.headers,
      offsetDelta: index,
      timestampDelta,
    });
    if (!layout) return undefined;
    records.push(layout);
    size += layout.size;
  }
  return { partition, firstSequence, firstTimestamp, maxTimestamp, records, size };
}

function writeInt64(buffer: Buffer, offset: number, value: unknown): number {
  const long = Long.fromValue(value);
  buffer.writeInt32BE(long.getHighBits(), offset);
  buffer.writeInt32BE(long.getLowBits(), offset + 4);
  return offset + 8;
}

function writeString(buffer: Buffer, offset: number, value: string | null | undefined): number {
  if (value == null) return buffer.writeInt16BE(-1, offset);
  const length = Buffer.byteLength(value);
  offset = buffer.writeInt16BE(length, offset);
  return offset + buffer.write(value, offset, length, 'utf8');
}

const stringSize = (value: string | null | undefined): number => 2 + (value == null ? 0 : Buffer.byteLength(value));

/** The request's body (after KafkaJS's request header), or undefined when KafkaJS should encode it. */
export function encodeProduceRequest(input: ProduceRequestInput, now = Date.now()): EncodedRecord | undefined {
  const {
    acks,
    timeout,
    transactionalId = null,
    producerId = -1,
    producerEpoch = 0,
    compression = 0,
    topicData,
  } = input;
  if (compression !== 0) return undefined;
  const topics: { topic: string; batches: BatchLayout[] }[] = [];
  let size = stringSize(transactionalId) + 2 + 4 + 4;
  for (const { topic, partitions } of topicData) {
    const batches: BatchLayout[] = [];
    size += stringSize(topic) + 4;
    for (const { partition, firstSequence = 0, messages } of partitions) {
      const batch = batchLayout(partition, firstSequence, messages, now);
      if (!batch) return undefined;
      batches.push(batch);
      size += 4 + 4 + batch.size;
    }
    topics.push({ topic, batches });
  }

  const buffer = Buffer.allocUnsafe(size);
  let offset = writeString(buffer, 0, transactionalId);
  offset = buffer.writeInt16BE(acks, offset);
  offset = buffer.writeInt32BE(timeout, offset);
  offset = buffer.writeInt32BE(topics.length, offset);
  for (const { topic, batches } of topics) {
    offset = writeString(buffer, offset, topic);
    offset = buffer.writeInt32BE(batches.length, offset);
    for (const batch of batches) {
      offset = buffer.writeInt32BE(batch.partition, offset);
      offset = buffer.writeInt32BE(batch.size, offset);
      const start = offset;
      offset = writeInt64(buffer, offset, 0); // first offset
      offset = buffer.writeInt32BE(batch.size - 12, offset); // the batch's length after it
      offset = buffer.writeInt32BE(0, offset); // partition leader epoch
      offset = buffer.writeInt8(MAGIC_BYTE, offset);
      offset += 4; // the CRC, once the bytes it covers are written
      offset = buffer.writeInt16BE(transactionalId ? TRANSACTIONAL_FLAG : 0, offset);
      offset = buffer.writeInt32BE(batch.records.length - 1, offset);
      offset = writeInt64(buffer, offset, batch.firstTimestamp);
      offset = writeInt64(buffer, offset, batch.maxTimestamp);
      offset = writeInt64(buffer, offset, producerId);
      offset = buffer.writeInt16BE(producerEpoch, offset);
      offset = buffer.writeInt32BE(batch.firstSequence, offset);
      offset = buffer.writeInt32BE(batch.records.length, offset);
      for (const record of batch.records) offset = writeRecord(buffer, offset, record);
      if (offset - start !== batch.size)
        throw new Error(`produce encoder wrote a batch of ${offset - start} of ${batch.size} bytes`);
      buffer.writeUInt32BE(crc32c(buffer, start + CRC_FROM, offset), start + CRC_FROM - 4);
    }
  }
  if (offset !== size) throw new Error(`produce encoder wrote ${offset} of ${size} bytes`);
  return { buf: buffer, buffer, offset: size };
}

let installed = false;
let fastInstalled = false;

/**
 * Makes every produce request KafkaJS makes (v3 to v7) pass `refuseResends` first (core/kafkajs-resend-guard.ts),
 * whatever KafkaJS's version: exactly once depends on it. On the KafkaJS version checked, the requests are also
 * encoded with `encodeProduceRequest`, and what it leaves by KafkaJS's own encoder with the faster record
 * encoder. Idempotent; true when the faster encoders are installed.
 */
export function installProduceEncoder(): boolean {
  if (installed) return fastInstalled;
  // Before the request module is loaded below: the record encoder reloads the requests that took the old one.
  fastInstalled = installRecordEncoder();
  const requestPath = require.resolve(REQUEST_MODULE);
  const original = require(requestPath) as ProduceRequestFactory;
  const guarded: ProduceRequestFactory = (input) => {
    refuseResends(input);
    const request = original(input);
    if (!fastInstalled) return request;
    return { ...request, encode: async () => encodeProduceRequest(input) ?? (await request.encode()) };
  };
  require.cache[requestPath]!.exports = guarded;
  for (const request of LATER_REQUESTS) delete require.cache[require.resolve(request)];
  installed = true;
  return fastInstalled;
}
