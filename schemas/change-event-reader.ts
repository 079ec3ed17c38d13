import type { ChangeEvent, DynamoImage, DynamoValue, Op, SourceKind } from './change-event.ts';
import { ConversionError } from './change-event.ts';

const OPS: readonly Op[] = ['INSERT', 'MODIFY', 'REMOVE', 'SNAPSHOT', 'SWEEP'];
const SOURCE_KINDS: readonly SourceKind[] = ['DYNAMODB_STREAMS', 'KINESIS', 'SNAPSHOT'];

/**
 * Reads the Avro body of a change event written with change-event.avsc itself, straight into a
 * ChangeEvent. It gives what avsc's reader followed by `fromAvro` gives (test/unit/schemas pins that),
 * without the intermediate Avro form: avsc builds ten fields per attribute value, nine of them null,
 * which `fromAvro` then copies into DynamoDB's form; a consumer group decoding tens of thousands of
 * events a second spent about a tenth of its time there and as much again collecting the garbage.
 * Only for bodies whose writer schema is this schema: other writer schemas go through avsc.
 */
export function readChangeEvent(buffer: Buffer, start = 0): ChangeEvent {
  const reader = new BodyReader(buffer, start);
  const event = reader.event();
  if (reader.pos !== buffer.length) throw new Error(reader.pos > buffer.length ? 'truncated buffer' : 'trailing data');
  return event;
}

/** Node's Buffer has the decoder `toString` dispatches to (avsc calls it too), without the dispatch. */
type DecodingBuffer = Buffer & { utf8Slice(start: number, end: number): string };

class BodyReader {
  private readonly buffer: DecodingBuffer;

  constructor(
    buffer: Buffer,
    public pos: number,
  ) {
    this.buffer = buffer as DecodingBuffer;
  }

  event(): ChangeEvent {
    const op = this.symbol(OPS, 'Op');
    const eventId = this.string();
    const table = this.string();
    const entity = this.string();
    const version = this.string();
    const keys = this.image();
    const before = this.present() ? this.image() : null;
    const after = this.present() ? this.image() : null;
    const kind = this.symbol(SOURCE_KINDS, 'SourceKind');
    const source = {
      kind,
      region: this.string(),
      table: this.string(),
      stream: this.string(),
      shardId: this.string(),
      sequenceNumber: this.string(),
      approximateCreationTimeMicros: this.safeLong(),
      userIdentity: this.present() ? { type: this.string(), principalId: this.string() } : null,
      ttlDelete: this.boolean(),
    };
    return { op, eventId, table, entity, version, keys, before, after, source };
  }

  /** An attribute value record: ten optional fields, the first one set is the value (as `fromAvroValue` takes it). */
  private value(): DynamoValue {
    const S = this.present() ? this.string() : null;
    const N = this.present() ? this.string() : null;
    const B = this.present() ? this.bytes() : null;
    const BOOL = this.present() ? this.boolean() : null;
    const NULL = this.present() ? this.boolean() : null;
    const SS = this.present() ? this.array(() => this.string()) : null;
    const NS = this.present() ? this.array(() => this.string()) : null;
    const BS = this.present() ? this.array(() => this.bytes()) : null;
    const L = this.present() ? this.array(() => this.value()) : null;
    const M = this.present() ? this.image() : null;
    if (S !== null) return { S };
    if (N !== null) return { N };
    if (B !== null) return { B };
    if (BOOL !== null) return { BOOL };
    if (NULL !== null) return { NULL: true };
    if (SS !== null) return { SS };
    if (NS !== null) return { NS };
    if (BS !== null) return { BS };
    if (L !== null) return { L };
    if (M !== null) return { M };
    throw new ConversionError('an Avro attribute value with no field set');
  }

  private image(): DynamoImage {
    const image: DynamoImage = {};
    for (let count = this.blockSize(); count > 0; count = this.blockSize()) {
      for (; count > 0; count--) {
        const name = this.string();
        image[name] = this.value();
      }
    }
    return image;
  }

  private array<T>(item: () => T): T[] {
    const items: T[] = [];
    for (let count = this.blockSize(); count > 0; count = this.blockSize()) {
      for (; count > 0; count--) items.push(item());
    }
    return items;
  }

  /** A block's item count; a negative count is followed by the block's size in bytes, which is not needed. */
  private blockSize(): number {
    const count = this.long();
    if (count >= 0) return count;
    this.long();
    return -count;
  }

  /** The branch of a ["null", T] union: false for null. */
  private present(): boolean {
    const branch = this.long();
    if (branch === 0) return false;
    if (branch === 1) return true;
    throw new Error(`invalid union index: ${branch}`);
  }

  private symbol<T>(symbols: readonly T[], name: string): T {
    const index = this.long();
    const symbol = symbols[index];
    if (symbol === undefined) throw new Error(`invalid ${name} enum index: ${index}`);
    return symbol;
  }

  private boolean(): boolean {
    this.need(1);
    return this.buffer[this.pos++] !== 0;
  }

  private string(): string {
    const end = this.end();
    const text = this.buffer.utf8Slice(this.pos, end);
    this.pos = end;
    return text;
  }

  /** A copy: the record's bytes belong to the fetch they came in. */
  private bytes(): Buffer {
    const end = this.end();
    const bytes = Buffer.from(this.buffer.subarray(this.pos, end));
    this.pos = end;
    return bytes;
  }

  private end(): number {
    const length = this.long();
    if (length < 0) throw new Error(`invalid length: ${length}`);
    this.need(length);
    return this.pos + length;
  }

  private safeLong(): number {
    const value = this.long();
    if (!Number.isSafeInteger(value)) throw new Error('potential precision loss');
    return value;
  }

  /** A zig-zag varint, as avsc reads it (exact up to 2^53). */
  private long(): number {
    const buffer = this.buffer;
    let small = 0;
    let shift = 0;
    let byte: number;
    do {
      this.need(1);
      byte = buffer[this.pos++]!;
      small |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 28);
    if (!(byte & 0x80)) return (small >>> 1) ^ -(small & 1);
    let large = small >>> 0;
    let scale = 2 ** 28;
    do {
      this.need(1);
      byte = buffer[this.pos++]!;
      large += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return large % 2 ? -(large + 1) / 2 : large / 2;
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.buffer.length) throw new Error('truncated buffer');
  }
}
