import { createRequire } from 'node:module';

/**
 * A faster encoder for KafkaJS's records (the v2 record format inside a record batch), byte for byte the
 * same as its own. KafkaJS 2.2.4 encodes each record with a zero-filled 512-byte buffer per record and
 * per header, grown and copied as it goes: at the connector's rates that was a third of the process's
 * CPU. This one sizes the record first and writes it into one buffer.
 *
 * KafkaJS offers no hook for it: the module that produce requests take their record encoder from is
 * replaced in Node's module cache. KafkaJS is no longer developed, so its internals stay as they are; the
 * replacement is only installed on the version it was checked against, and any input it was not written
 * for (a header value that is neither a string nor a buffer, a key of another type) goes to KafkaJS's
 * own encoder, errors included.
 */

const require = createRequire(import.meta.url);
const KAFKAJS_VERSION = '2.2.4';
const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
/** The produce requests that take the record encoder when they are loaded (v4 to v7 build on v3). */
const PRODUCE_REQUESTS = [3, 4, 5, 6, 7].map((version) => `kafkajs/src/protocol/requests/produce/v${version}/request.js`);

type Bytes = Buffer | string | null | undefined;

export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, Bytes | Bytes[]>;
}

/** What KafkaJS's record batch reads from an encoded record (its Encoder's shape). */
export interface EncodedRecord {
  buf: Buffer;
  buffer: Buffer;
  offset: number;
}

type RecordEncoder = (record: RecordInput) => EncodedRecord;

/** Zigzag then unsigned LEB128, as Kafka's varint and varlong; exact for safe integers. */
const zigzag = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);

function varintSize(value: number): number {
  let unsigned = zigzag(value);
  let bytes = 1;
  while (unsigned >= 128) {
    unsigned = Math.floor(unsigned / 128);
    bytes++;
  }
  return bytes;
}

function writeVarint(buffer: Buffer, offset: number, value: number): number {
  let unsigned = zigzag(value);
  while (unsigned >= 128) {
    buffer[offset++] = (unsigned % 128) | 128;
    unsigned = Math.floor(unsigned / 128);
  }
  buffer[offset++] = unsigned;
  return offset;
}

const isBytes = (value: unknown): value is Bytes => value === null || value === undefined || typeof value === 'string' || Buffer.isBuffer(value);
const bytesLength = (value: Bytes): number => (value == null ? -1 : typeof value === 'string' ? Buffer.byteLength(value) : value.length);

function writeBytes(buffer: Buffer, offset: number, value: Bytes, length: number): number {
  offset = writeVarint(buffer, offset, length);
  if (value == null) return offset;
  if (typeof value === 'string') return offset + buffer.write(value, offset, length, 'utf8');
  value.copy(buffer, offset);
  return offset + length;
}

/** The record, or undefined when it holds something this encoder leaves to KafkaJS. */
export function encodeRecord({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordInput): EncodedRecord | undefined {
  if (!Number.isSafeInteger(offsetDelta) || !Number.isSafeInteger(timestampDelta) || !isBytes(key) || !isBytes(value)) return undefined;
  const headerKeys: string[] = [];
  const headerValues: (Buffer | string)[] = [];
  for (const name of Object.keys(headers)) {
    const entry = headers[name];
    for (const item of Array.isArray(entry) ? entry : [entry]) {
      // KafkaJS fails on a null or undefined header value: left to it, so that it fails the same way.
      if (typeof item !== 'string' && !Buffer.isBuffer(item)) return undefined;
      headerKeys.push(name);
      headerValues.push(item);
    }
  }
  const keyLength = bytesLength(key);
  const valueLength = bytesLength(value);
  let body = 1 + varintSize(timestampDelta) + varintSize(offsetDelta) + varintSize(keyLength) + Math.max(keyLength, 0)
    + varintSize(valueLength) + Math.max(valueLength, 0) + varintSize(headerKeys.length);
  const headerLengths: number[] = [];
  for (let index = 0; index < headerKeys.length; index++) {
    const nameLength = Buffer.byteLength(headerKeys[index]!);
    const itemLength = bytesLength(headerValues[index]);
    headerLengths.push(nameLength, itemLength);
    body += varintSize(nameLength) + nameLength + varintSize(itemLength) + Math.max(itemLength, 0);
  }
  const size = varintSize(body) + body;
  const buffer = Buffer.allocUnsafe(size);
  let offset = writeVarint(buffer, 0, body);
  buffer[offset++] = 0; // attributes: none used in a record
  offset = writeVarint(buffer, offset, timestampDelta);
  offset = writeVarint(buffer, offset, offsetDelta);
  offset = writeBytes(buffer, offset, key, keyLength);
  offset = writeBytes(buffer, offset, value, valueLength);
  offset = writeVarint(buffer, offset, headerKeys.length);
  for (let index = 0; index < headerKeys.length; index++) {
    offset = writeBytes(buffer, offset, headerKeys[index], headerLengths[2 * index]!);
    offset = writeBytes(buffer, offset, headerValues[index], headerLengths[2 * index + 1]!);
  }
  if (offset !== size) throw new Error(`record encoder wrote ${offset} of ${size} bytes`);
  return { buf: buffer, buffer, offset: size };
}

let installed = false;

/**
 * Makes KafkaJS's produce requests encode records with `encodeRecord` (KafkaJS's own encoder for what it
 * leaves). Idempotent; a KafkaJS version other than the one checked keeps its own encoder.
 */
export function installRecordEncoder(): boolean {
  if (installed) return true;
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== KAFKAJS_VERSION) return false;
  const recordPath = require.resolve(RECORD_MODULE);
  const original = require(recordPath) as RecordEncoder;
  const fast: RecordEncoder = (record) => encodeRecord(record) ?? original(record);
  require.cache[recordPath]!.exports = fast;
  // Requests loaded before now took the original encoder when they were loaded: they load again.
  for (const request of PRODUCE_REQUESTS) delete require.cache[require.resolve(request)];
  installed = true;
  return true;
}

/** KafkaJS's own record encoder, for comparing bytes. */
export function kafkaJsRecordEncoder(): RecordEncoder {
  const recordPath = require.resolve(RECORD_MODULE);
  // The original is kept by the module's own cache entry being replaced, so it is read from its file again.
  const cached = require.cache[recordPath];
  delete require.cache[recordPath];
  try {
    return require(recordPath) as RecordEncoder;
  } finally {
    if (cached) require.cache[recordPath] = cached;
  }
}
