import { isCheckedKafkaJs, kafkaJsRequire as require, originalKafkaJsModule } from '../core/kafkajs-internals.ts';

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

const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
/** The produce requests that take the record encoder when they are loaded (v4 to v7 build on v3). */
const PRODUCE_REQUESTS = [3, 4, 5, 6, 7].map(
  (version) => `kafkajs/src/protocol/requests/produce/v${version}/request.js`,
);

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

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Kafka's varint (a 32-bit field: offset delta, lengths, header count): zigzag then unsigned LEB128. Beyond 32
 * bits the broker would read other bytes than were meant (KafkaJS wraps them silently), so that is refused.
 */
function int32Zigzag(value: number): number {
  if (!(value >= INT32_MIN && value <= INT32_MAX && Number.isInteger(value)))
    throw new RangeError(`${value} does not fit the 32-bit varint Kafka reads it as`);
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

function unsignedSize(unsigned: number): number {
  let bytes = 1;
  while (unsigned >= 128) {
    unsigned >>>= 7;
    bytes++;
  }
  return bytes;
}

function writeUnsigned(buffer: Buffer, offset: number, unsigned: number): number {
  while (unsigned >= 128) {
    buffer[offset++] = (unsigned & 127) | 128;
    unsigned >>>= 7;
  }
  buffer[offset++] = unsigned;
  return offset;
}

const varintSize = (value: number): number => unsignedSize(int32Zigzag(value));
const writeVarint = (buffer: Buffer, offset: number, value: number): number =>
  writeUnsigned(buffer, offset, int32Zigzag(value));

const fitsInt32 = (value: number): boolean => value >= INT32_MIN && value <= INT32_MAX;

/**
 * Kafka's varlong (the timestamp delta), for safe integers. Beyond 32 bits it is zigzagged as a BigInt:
 * in doubles, -2v - 1 is no longer exact below -2^52.
 */
const longZigzag = (value: number): bigint => (value >= 0 ? BigInt(value) << 1n : (-BigInt(value) << 1n) - 1n);

function varlongSize(value: number): number {
  if (fitsInt32(value)) return varintSize(value);
  let unsigned = longZigzag(value);
  let bytes = 1;
  while (unsigned >= 128n) {
    unsigned >>= 7n;
    bytes++;
  }
  return bytes;
}

function writeVarlong(buffer: Buffer, offset: number, value: number): number {
  if (fitsInt32(value)) return writeVarint(buffer, offset, value);
  let unsigned = longZigzag(value);
  while (unsigned >= 128n) {
    buffer[offset++] = Number(unsigned & 127n) | 128;
    unsigned >>= 7n;
  }
  buffer[offset++] = Number(unsigned);
  return offset;
}

const isBytes = (value: unknown): value is Bytes =>
  value === null || value === undefined || typeof value === 'string' || Buffer.isBuffer(value);
/** Strings up to this length are measured and written here when ASCII: Node's calls cost more than the loop for a record's short keys and headers. */
const SHORT_STRING = 64;

function utf8Length(value: string): number {
  if (value.length > SHORT_STRING) return Buffer.byteLength(value);
  for (let index = 0; index < value.length; index++)
    if (value.charCodeAt(index) > 0x7f) return Buffer.byteLength(value);
  return value.length;
}

const bytesLength = (value: Bytes): number =>
  value == null ? -1 : typeof value === 'string' ? utf8Length(value) : value.length;

function writeBytes(buffer: Buffer, offset: number, value: Bytes, length: number): number {
  offset = writeVarint(buffer, offset, length);
  if (value == null) return offset;
  if (typeof value !== 'string') {
    buffer.set(value, offset);
    return offset + length;
  }
  // Its UTF-8 length equals its length: ASCII.
  if (length === value.length && length <= SHORT_STRING) {
    for (let index = 0; index < length; index++) buffer[offset + index] = value.charCodeAt(index);
    return offset + length;
  }
  return offset + buffer.write(value, offset, length, 'utf8');
}

/** A record measured, ready to be written where its batch puts it. */
export interface RecordLayout {
  /** Its bytes, length prefix included. */
  size: number;
  body: number;
  record: RecordInput;
  headerKeys: string[];
  headerValues: (Buffer | string)[];
  /** Key length, value length, then each header's name and value lengths (-1 for null). */
  lengths: number[];
}

/** The record measured, or undefined when it holds something this encoder leaves to KafkaJS. */
export function recordLayout(record: RecordInput): RecordLayout | undefined {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
  if (!Number.isSafeInteger(offsetDelta) || !Number.isSafeInteger(timestampDelta) || !isBytes(key) || !isBytes(value))
    return undefined;
  const headerKeys: string[] = [];
  const headerValues: (Buffer | string)[] = [];
  for (const name of Object.keys(headers)) {
    const entry = headers[name];
    const items = Array.isArray(entry) ? entry : undefined;
    for (let index = 0; index < (items ? items.length : 1); index++) {
      const item = items ? items[index] : entry;
      // KafkaJS fails on a null or undefined header value: left to it, so that it fails the same way.
      if (typeof item !== 'string' && !Buffer.isBuffer(item)) return undefined;
      headerKeys.push(name);
      headerValues.push(item);
    }
  }
  const lengths = [bytesLength(key), bytesLength(value)];
  let body = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta) + varintSize(headerKeys.length);
  for (let index = 0; index < headerKeys.length; index++)
    lengths.push(utf8Length(headerKeys[index]!), bytesLength(headerValues[index]));
  for (const length of lengths) body += varintSize(length) + Math.max(length, 0);
  return { size: varintSize(body) + body, body, record, headerKeys, headerValues, lengths };
}

/** Writes the measured record at `offset`; returns the offset after it. */
export function writeRecord(
  buffer: Buffer,
  offset: number,
  { body, record, headerKeys, headerValues, lengths }: RecordLayout,
): number {
  offset = writeVarint(buffer, offset, body);
  buffer[offset++] = 0; // attributes: none used in a record
  offset = writeVarlong(buffer, offset, record.timestampDelta ?? 0);
  offset = writeVarint(buffer, offset, record.offsetDelta ?? 0);
  offset = writeBytes(buffer, offset, record.key, lengths[0]!);
  offset = writeBytes(buffer, offset, record.value, lengths[1]!);
  offset = writeVarint(buffer, offset, headerKeys.length);
  for (let index = 0; index < headerKeys.length; index++) {
    offset = writeBytes(buffer, offset, headerKeys[index], lengths[2 + 2 * index]!);
    offset = writeBytes(buffer, offset, headerValues[index], lengths[3 + 2 * index]!);
  }
  return offset;
}

/** The record in a buffer of its own, or undefined when it holds something this encoder leaves to KafkaJS. */
export function encodeRecord(record: RecordInput): EncodedRecord | undefined {
  const layout = recordLayout(record);
  if (!layout) return undefined;
  const buffer = Buffer.allocUnsafe(layout.size);
  const written = writeRecord(buffer, 0, layout);
  if (written !== layout.size) throw new Error(`record encoder wrote ${written} of ${layout.size} bytes`);
  return { buf: buffer, buffer, offset: layout.size };
}

let installed = false;

/**
 * Makes KafkaJS's produce requests encode records with `encodeRecord` (KafkaJS's own encoder for what it
 * leaves). Idempotent; a KafkaJS version other than the one checked keeps its own encoder.
 */
export function installRecordEncoder(): boolean {
  if (installed) return true;
  if (!isCheckedKafkaJs()) return false;
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
  return originalKafkaJsModule<RecordEncoder>(RECORD_MODULE);
}
