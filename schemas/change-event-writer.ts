import type { ChangeEvent, DynamoImage, DynamoValue } from './change-event.ts';
import { isDynamoNumber } from './change-event.ts';

const OP_INDEX: Readonly<Record<string, number>> = { INSERT: 0, MODIFY: 1, REMOVE: 2, SNAPSHOT: 3, SWEEP: 4 };
const SOURCE_KIND_INDEX: Readonly<Record<string, number>> = { DYNAMODB_STREAMS: 0, KINESIS: 1, SNAPSHOT: 2 };
/** The AttributeValue record's fields, in the schema's order: a value's type is written as this many null branches, then its own. */
const VALUE_FIELD: Readonly<Record<string, number>> = {
  S: 0,
  N: 1,
  B: 2,
  BOOL: 3,
  NULL: 4,
  SS: 5,
  NS: 6,
  BS: 7,
  L: 8,
  M: 9,
};
const VALUE_FIELDS = 10;
/** avsc writes a long only within ±(2^53 - 2). */
const AVSC_LONG_LIMIT = 2 ** 53 - 2;

/** Node's Buffer has the encoder `write` dispatches to (avsc calls it too), without the dispatch. */
type EncodingBuffer = Buffer & { utf8Write(text: string, offset: number, length: number): number };

/** The event holds something the direct path does not judge: the general path (toAvro, then avsc) writes it or says why not. */
export class NotDirectlyWritable extends Error {}

/**
 * Writes the Avro body of a change event (change-event.avsc) straight from the event, into an arena that
 * grows by moving to a new buffer. The bytes are those avsc writes for `toAvro(event)` (test/unit/schemas
 * pins that); what it skips is the intermediate form: ten fields per attribute value, nine of them null,
 * which cost the connector an allocation per field and a fifth of its time in garbage collection.
 * Anything `toAvro` or avsc would refuse, or would judge in a way of its own, throws NotDirectlyWritable
 * before the arena's used part is touched: the caller writes that event the general way.
 */
export class ChangeEventWriter {
  /** Where the event being written begins in `buffer`. */
  private start = 0;
  buffer: Buffer;
  pos = 0;

  constructor(private readonly arenaBytes: number) {
    this.buffer = Buffer.allocUnsafe(arenaBytes);
  }

  /** Starts an event at the arena's free space, with room for `header` bytes the caller fills. */
  begin(header: number): number {
    this.start = this.pos;
    this.reserve(header);
    this.pos += header;
    return this.start;
  }

  /** The event's bytes (header and body), never written again. */
  finish(): Buffer {
    return this.buffer.subarray(this.start, this.pos);
  }

  /** Forgets the event begun: its bytes are written over by the next. */
  discard(): void {
    this.pos = this.start;
  }

  event(event: ChangeEvent): void {
    // `toAvro` spreads the event: only its own fields count there.
    if (!isPlainObject(event)) throw new NotDirectlyWritable();
    this.long(indexOf(OP_INDEX, event.op));
    this.string(event.eventId);
    this.string(event.table);
    this.string(event.entity);
    this.string(event.version);
    this.image(event.keys);
    this.optionalImage(event.before);
    this.optionalImage(event.after);
    const { source } = event;
    this.long(indexOf(SOURCE_KIND_INDEX, source.kind));
    this.string(source.region);
    this.string(source.table);
    this.string(source.stream);
    this.string(source.shardId);
    this.string(source.sequenceNumber);
    const micros = source.approximateCreationTimeMicros;
    if (!Number.isInteger(micros) || Math.abs(micros) > AVSC_LONG_LIMIT) throw new NotDirectlyWritable();
    this.long(micros);
    const identity = source.userIdentity;
    if (identity === null) this.long(0);
    else {
      if (!isPlainObject(identity)) throw new NotDirectlyWritable();
      this.long(1);
      this.string(identity.type);
      this.string(identity.principalId);
    }
    this.boolean(source.ttlDelete);
  }

  private optionalImage(image: DynamoImage | null): void {
    if (image === null) this.long(0);
    else {
      this.long(1);
      this.image(image);
    }
  }

  private image(image: DynamoImage): void {
    // Own keys only: `toAvro` copies inherited ones too, so an image with a prototype of its own goes the general way.
    if (!isPlainObject(image)) throw new NotDirectlyWritable();
    const names = Object.keys(image);
    if (names.length > 0) {
      this.long(names.length);
      for (const name of names) {
        // `toAvro` builds a plain object, where this name would set the prototype instead.
        if (name === '__proto__') throw new NotDirectlyWritable();
        this.string(name);
        this.value(image[name]!);
      }
    }
    this.long(0);
  }

  private value(value: DynamoValue): void {
    if (value === null || typeof value !== 'object') throw new NotDirectlyWritable();
    let type: string | undefined;
    for (const name in value) {
      if ((value as Record<string, unknown>)[name] === undefined) continue;
      if (type !== undefined) throw new NotDirectlyWritable();
      type = name;
    }
    const field = type === undefined ? undefined : VALUE_FIELD[type];
    if (field === undefined || !Object.hasOwn(VALUE_FIELD, type!)) throw new NotDirectlyWritable();
    // The null branches before the value's own (each a zero byte), then its branch (1, zig-zag encoded: 2).
    this.reserve(VALUE_FIELDS);
    for (let index = 0; index < field; index++) this.buffer[this.pos++] = 0;
    this.buffer[this.pos++] = 2;
    const raw = (value as Record<string, unknown>)[type!];
    switch (field) {
      case 0:
        this.string(raw);
        break;
      case 1:
        this.number(raw);
        break;
      case 2:
        this.bytes(raw);
        break;
      case 3:
        this.boolean(raw);
        break;
      case 4:
        // `toAvro` writes NULL as true whatever the value held.
        this.boolean(true);
        break;
      case 5:
        this.array(raw, (item) => this.string(item));
        break;
      case 6:
        this.array(raw, (item) => this.number(item));
        break;
      case 7:
        this.array(raw, (item) => this.bytes(item));
        break;
      case 8:
        this.array(raw, (item) => this.value(item as DynamoValue));
        break;
      case 9:
        this.image(raw as DynamoImage);
        break;
    }
    this.reserve(VALUE_FIELDS);
    for (let index = field + 1; index < VALUE_FIELDS; index++) this.buffer[this.pos++] = 0;
  }

  private array(items: unknown, write: (item: unknown) => void): void {
    if (!Array.isArray(items)) throw new NotDirectlyWritable();
    if (items.length > 0) {
      this.long(items.length);
      // By index, as avsc reads an array: an iterator of the array's own could give other items than its length says.
      for (let index = 0; index < items.length; index++) write(items[index]);
    }
    this.long(0);
  }

  private number(text: unknown): void {
    if (!isDynamoNumber(text)) throw new NotDirectlyWritable();
    this.string(text);
  }

  private bytes(value: unknown): void {
    if (!(value instanceof Uint8Array)) throw new NotDirectlyWritable();
    this.long(value.byteLength);
    this.reserve(value.byteLength);
    this.buffer.set(value, this.pos);
    this.pos += value.byteLength;
  }

  private boolean(value: unknown): void {
    if (typeof value !== 'boolean') throw new NotDirectlyWritable();
    this.reserve(1);
    this.buffer[this.pos++] = value ? 1 : 0;
  }

  /** UTF-8 with its byte length first; short strings (most of an image) without a call into the runtime. */
  private string(text: unknown): void {
    if (typeof text !== 'string') throw new NotDirectlyWritable();
    const length = text.length;
    if (length > 64) {
      const bytes = Buffer.byteLength(text);
      this.long(bytes);
      this.reserve(bytes);
      this.pos += (this.buffer as EncodingBuffer).utf8Write(text, this.pos, bytes);
      return;
    }
    let bytes = 0;
    for (let index = 0; index < length; index++) {
      const code = text.charCodeAt(index);
      if (code < 0x80) bytes += 1;
      else if (code < 0x800) bytes += 2;
      else if ((code & 0xfc00) === 0xd800 && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) {
        bytes += 4;
        index++;
      } else if ((code & 0xf800) === 0xd800) {
        // A lone surrogate: avsc writes a short string's own way (the surrogate's three raw bytes), not as U+FFFD.
        throw new NotDirectlyWritable();
      } else bytes += 3;
    }
    this.long(bytes);
    this.reserve(bytes);
    if (bytes !== length) {
      this.pos += (this.buffer as EncodingBuffer).utf8Write(text, this.pos, bytes);
      return;
    }
    const buffer = this.buffer;
    let pos = this.pos;
    for (let index = 0; index < length; index++) buffer[pos++] = text.charCodeAt(index);
    this.pos = pos;
  }

  /** A zig-zag varint, as avsc writes it (exact for safe integers). */
  private long(value: number): void {
    this.reserve(10);
    const buffer = this.buffer;
    if (value >= -1073741824 && value < 1073741824) {
      let zigzag = value >= 0 ? value << 1 : (~value << 1) | 1;
      while (zigzag > 0x7f) {
        buffer[this.pos++] = (zigzag & 0x7f) | 0x80;
        zigzag >>>= 7;
      }
      buffer[this.pos++] = zigzag;
      return;
    }
    let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
    while (zigzag >= 0x80) {
      buffer[this.pos++] = (zigzag % 0x80) | 0x80;
      zigzag = Math.floor(zigzag / 0x80);
    }
    buffer[this.pos++] = zigzag;
  }

  /** Room for `bytes` more: the event begun moves to a new arena when this one is full. */
  private reserve(bytes: number): void {
    if (this.pos + bytes > this.buffer.length) this.renew(this.pos - this.start + bytes);
  }

  private renew(needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.arenaBytes, needed * 2));
    this.buffer.copy(next, 0, this.start, this.pos);
    this.pos -= this.start;
    this.start = 0;
    this.buffer = next;
  }
}

function isPlainObject(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function indexOf(indices: Readonly<Record<string, number>>, symbol: unknown): number {
  const index = typeof symbol === 'string' && Object.hasOwn(indices, symbol) ? indices[symbol] : undefined;
  if (index === undefined) throw new NotDirectlyWritable();
  return index;
}
