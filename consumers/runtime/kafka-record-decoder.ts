import { isCheckedKafkaJs, kafkaJsRequire as require, originalKafkaJsModule } from '../../core/kafkajs-internals.ts';

/**
 * A faster decoder for the records of a fetched record batch (the v2 record format), giving what KafkaJS's
 * own gives. KafkaJS 2.2.4 builds each record's headers with a spread per header (`{ ...obj, [key]: value }`:
 * the connector's seven CloudEvents headers cost seven objects and 28 property copies a record), and
 * parses the batch's first offset and timestamp from text into 64-bit objects twice a record: a consumer
 * group spent more of its CPU there than in its Avro decoding, and collected the garbage after it.
 *
 * Installed the way the connector's record encoder is (connector/kafka-record-encoder.ts): KafkaJS offers no
 * hook, so the module the fetch responses take their record decoder from is replaced in Node's module
 * cache, on the KafkaJS version it was checked against only.
 */

const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
/** The modules that take the record decoder when they are loaded, down to the fetch responses that load them lazily. */
const DEPENDENTS = [
  'kafkajs/src/protocol/recordBatch/v0/decoder.js',
  'kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js',
  ...[4, 5, 6, 7, 8, 9, 10, 11].map((version) => `kafkajs/src/protocol/requests/fetch/v${version}/response.js`),
];
const LOG_APPEND_TIME = 1;
/** Seven varint bytes carry 49 bits: such a zig-zag long is exact as a Number. */
const EXACT_VARINT_BYTES = 7;

interface Int64 {
  toString(): string;
  add(other: Int64 | number): Int64;
}
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): Int64 };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => KafkaDecoder;

/** KafkaJS's Decoder, as far as records use it. */
export interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): Int64;
  readVarIntBytes(): Buffer | null;
  readVarIntString(): string | null;
}

export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  magicByte: number;
  isControlBatch?: boolean;
  timestampType: number;
  maxTimestamp: string;
}

export type RecordDecoder = (decoder: KafkaDecoder, batchContext: BatchContext) => unknown;

/** A zig-zag varlong: as a Number when it has at most seven bytes, else KafkaJS's 64-bit value. */
function readVarLong(decoder: KafkaDecoder): number | Int64 {
  const { buffer } = decoder;
  let raw = 0;
  let scale = 1;
  for (let index = 0; index < EXACT_VARINT_BYTES; index++) {
    const byte = buffer[decoder.offset + index];
    if (byte === undefined) break;
    raw += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      decoder.offset += index + 1;
      return raw % 2 ? -(raw + 1) / 2 : raw / 2;
    }
    scale *= 128;
  }
  return decoder.readVarLong();
}

/** `base + delta` as decimal text, as KafkaJS's 64-bit sum writes it. */
function sum(base: string, delta: number | Int64): string {
  if (typeof delta === 'number') {
    const total = Number(base) + delta;
    if (Number.isSafeInteger(total) && Number.isSafeInteger(Number(base))) return String(total);
  }
  return Long.fromValue(base).add(delta).toString();
}

type Headers = Record<string, Buffer | null | (Buffer | null)[]>;

/** The headers of a record, from their count on (as KafkaJS decodes them, one value or an array per name). */
function decodeHeaders(decoder: KafkaDecoder): Headers {
  const headers: Headers = {};
  for (let count = decoder.readVarInt(); count > 0; count--) {
    const name = String(decoder.readVarIntString());
    const header = decoder.readVarIntBytes();
    // Looked up as KafkaJS looks it up (inherited names included), so that even odd names come out alike.
    const previous = headers[name] as unknown;
    const values =
      previous === undefined
        ? header
        : Array.isArray(previous)
          ? [...(previous as (Buffer | null)[]), header]
          : [previous as Buffer, header];
    // A header named __proto__ is a property of its own, as in KafkaJS's object literal, not the prototype.
    if (name === '__proto__')
      Object.defineProperty(headers, name, { value: values, enumerable: true, writable: true, configurable: true });
    else headers[name] = values;
  }
  return headers;
}

/** Moves the decoder past the headers without decoding them, as far as KafkaJS's reads move it (-1: null, no bytes). */
function skipHeaders(decoder: KafkaDecoder): void {
  for (let count = decoder.readVarInt(); count > 0; count--) {
    const nameLength = decoder.readVarInt();
    if (nameLength !== -1) decoder.offset += nameLength;
    const valueLength = decoder.readVarInt();
    if (valueLength !== -1) decoder.offset += valueLength;
  }
}

/**
 * A fetched record, field for field what KafkaJS's record decoder returns, but for its headers: they are a
 * getter, decoded when first read. The consumer groups never read them (only the dead-letter tools do),
 * and the connector's seven CloudEvents headers were seven buffers and seven names a record, a fifth of
 * what a cache group allocated. A class, not a literal with an accessor: V8 keeps such a literal as a
 * dictionary, slower and larger than the headers it saves.
 */
export class FetchedRecord {
  readonly #recordBytes: Buffer;
  readonly #headersAt: number;
  #headers: Headers | undefined;

  constructor(
    readonly magicByte: number,
    readonly attributes: number,
    readonly timestamp: string,
    readonly offset: string,
    readonly key: Buffer | null,
    readonly value: Buffer | null,
    readonly isControlRecord: boolean,
    readonly batchContext: BatchContext,
    recordBytes: Buffer,
    headersAt: number,
  ) {
    this.#recordBytes = recordBytes;
    this.#headersAt = headersAt;
  }

  get headers(): Headers {
    if (!this.#headers) {
      const reader = new Decoder(this.#recordBytes);
      reader.offset = this.#headersAt;
      this.#headers = decodeHeaders(reader);
    }
    return this.#headers;
  }

  set headers(replaced: Headers) {
    this.#headers = replaced;
  }
}

/** One record of a batch, from the record decoder KafkaJS hands it (over the record's own bytes). */
export function decodeRecord(decoder: KafkaDecoder, batchContext: BatchContext): FetchedRecord {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = readVarLong(decoder);
  const timestamp =
    timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : sum(firstTimestamp, timestampDelta);
  const offset = sum(firstOffset, decoder.readVarInt());
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headersAt = decoder.offset;
  skipHeaders(decoder);
  return new FetchedRecord(
    magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    isControlBatch,
    batchContext,
    decoder.buffer,
    headersAt,
  );
}

let installed = false;

/**
 * Makes KafkaJS's fetch responses decode records with `decodeRecord`. Idempotent; a KafkaJS version other
 * than the one checked keeps its own decoder.
 */
export function installRecordDecoder(): boolean {
  if (installed) return true;
  if (!isCheckedKafkaJs()) return false;
  const recordPath = require.resolve(RECORD_MODULE);
  require(recordPath);
  require.cache[recordPath]!.exports = decodeRecord;
  // Modules loaded before now took the original decoder when they were loaded: they load again.
  for (const dependent of DEPENDENTS) delete require.cache[require.resolve(dependent)];
  installed = true;
  return true;
}

/** KafkaJS's own record decoder, for comparing records. */
export function kafkaJsRecordDecoder(): RecordDecoder {
  return originalKafkaJsModule<RecordDecoder>(RECORD_MODULE);
}
