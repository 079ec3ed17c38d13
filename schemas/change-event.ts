import { readFileSync } from 'node:fs';

/** The Avro schema of the change event, as registered in the schema registry. */
export const changeEventSchema: string = readFileSync(new URL('./change-event.avsc', import.meta.url), 'utf8');

/** A DynamoDB attribute value as the AWS SDK and DynamoDB JSON carry it (binary as bytes). */
export interface DynamoValue {
  S?: string;
  N?: string;
  B?: Uint8Array;
  BOOL?: boolean;
  NULL?: boolean;
  SS?: string[];
  NS?: string[];
  BS?: Uint8Array[];
  L?: DynamoValue[];
  M?: DynamoImage;
}
export type DynamoImage = Record<string, DynamoValue>;

/** The Avro form: every field present, all but one null. */
export interface AvroValue {
  S: string | null;
  N: string | null;
  B: Buffer | null;
  BOOL: boolean | null;
  NULL: boolean | null;
  SS: string[] | null;
  NS: string[] | null;
  BS: Buffer[] | null;
  L: AvroValue[] | null;
  M: Record<string, AvroValue> | null;
}
export type AvroImage = Record<string, AvroValue>;

/** SWEEP: items of the event's table and entity with a version below the event's were not found by a re-snapshot. */
export type Op = 'INSERT' | 'MODIFY' | 'REMOVE' | 'SNAPSHOT' | 'SWEEP';
export type SourceKind = 'DYNAMODB_STREAMS' | 'KINESIS' | 'SNAPSHOT';

export interface SourcePosition {
  kind: SourceKind;
  region: string;
  table: string;
  stream: string;
  shardId: string;
  sequenceNumber: string;
  approximateCreationTimeMicros: number;
  userIdentity: { type: string; principalId: string } | null;
  ttlDelete: boolean;
}

/** A change event with images in DynamoDB's own form; `toAvro`/`fromAvro` convert at the wire. */
export interface ChangeEvent {
  op: Op;
  eventId: string;
  table: string;
  entity: string;
  version: string;
  keys: DynamoImage;
  before: DynamoImage | null;
  after: DynamoImage | null;
  source: SourcePosition;
}

/** A value that is not a valid DynamoDB attribute value; the record goes to the dead-letter topic. */
export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConversionError';
  }
}

// DynamoDB numbers: up to 38 significant digits, exponent from -130 to +125.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** At most 38 significant digits: only a text longer than 38 characters can hold more. */
const significantDigits = (text: string): number =>
  text.length <= 38
    ? 0
    : text
        .replace(/[eE].*$/, '')
        .replace(/[^\d]/g, '')
        .replace(/^0+/, '')
        .replace(/0+$/, '').length;

/** A DynamoDB number as text (the check `toAvro` makes, for writers that make it themselves). */
export function isDynamoNumber(text: unknown): text is string {
  return typeof text === 'string' && NUMBER.test(text) && significantDigits(text) <= 38;
}

function checkNumber(text: unknown, path: string): string {
  if (typeof text !== 'string' || !NUMBER.test(text))
    throw new ConversionError(`${path}: ${JSON.stringify(text)} is not a DynamoDB number`);
  if (significantDigits(text) > 38) throw new ConversionError(`${path}: ${text} has more than 38 significant digits`);
  return text;
}

function checkString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ConversionError(`${path}: expected a string, got ${typeof value}`);
  return value;
}

function checkBytes(value: unknown, path: string): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new ConversionError(`${path}: expected binary data`);
}

function checkArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ConversionError(`${path}: expected a list`);
  return value;
}

/** An Avro attribute value with one field set; a literal of fixed shape keeps this hot path fast. */
function avroValue(type: string, value: unknown): AvroValue {
  const out: AvroValue = {
    S: null,
    N: null,
    B: null,
    BOOL: null,
    NULL: null,
    SS: null,
    NS: null,
    BS: null,
    L: null,
    M: null,
  };
  (out as unknown as Record<string, unknown>)[type] = value;
  return out;
}

export function toAvroValue(value: DynamoValue, path: string): AvroValue {
  let type: string | undefined;
  let types = 0;
  for (const name in value) {
    if ((value as Record<string, unknown>)[name] === undefined) continue;
    type = name;
    types++;
  }
  if (types !== 1) {
    const found = Object.keys(value).filter((name) => (value as Record<string, unknown>)[name] !== undefined);
    throw new ConversionError(
      `${path}: an attribute value needs exactly one type, found ${found.length === 0 ? 'none' : found.join(', ')}`,
    );
  }
  const raw = (value as Record<string, unknown>)[type!];
  switch (type) {
    case 'S':
      return avroValue('S', checkString(raw, path));
    case 'N':
      return avroValue('N', checkNumber(raw, path));
    case 'B':
      return avroValue('B', checkBytes(raw, path));
    case 'BOOL':
      if (typeof raw !== 'boolean') throw new ConversionError(`${path}: BOOL must be true or false`);
      return avroValue('BOOL', raw);
    case 'NULL':
      return avroValue('NULL', true);
    case 'SS':
      return avroValue(
        'SS',
        checkArray(raw, path).map((item, index) => checkString(item, `${path}[${index}]`)),
      );
    case 'NS':
      return avroValue(
        'NS',
        checkArray(raw, path).map((item, index) => checkNumber(item, `${path}[${index}]`)),
      );
    case 'BS':
      return avroValue(
        'BS',
        checkArray(raw, path).map((item, index) => checkBytes(item, `${path}[${index}]`)),
      );
    case 'L':
      return avroValue(
        'L',
        checkArray(raw, path).map((item, index) => toAvroValue(item as DynamoValue, `${path}[${index}]`)),
      );
    case 'M':
      return avroValue('M', toAvroImage(raw as DynamoImage, path));
    default:
      throw new ConversionError(`${path}: unknown attribute type ${type}`);
  }
}

export function toAvroImage(image: DynamoImage, path = ''): AvroImage {
  if (image === null || typeof image !== 'object')
    throw new ConversionError(`${path || 'image'}: expected a map of attributes`);
  const out: AvroImage = {};
  for (const name in image) out[name] = toAvroValue(image[name]!, path ? `${path}.${name}` : name);
  return out;
}

export function fromAvroValue(value: AvroValue): DynamoValue {
  if (value.S !== null) return { S: value.S };
  if (value.N !== null) return { N: value.N };
  if (value.B !== null) return { B: value.B };
  if (value.BOOL !== null) return { BOOL: value.BOOL };
  if (value.NULL !== null) return { NULL: true };
  if (value.SS !== null) return { SS: value.SS };
  if (value.NS !== null) return { NS: value.NS };
  if (value.BS !== null) return { BS: value.BS };
  if (value.L !== null) return { L: value.L.map(fromAvroValue) };
  if (value.M !== null) return { M: fromAvroImage(value.M) };
  throw new ConversionError('an Avro attribute value with no field set');
}

export function fromAvroImage(image: AvroImage): DynamoImage {
  const out: DynamoImage = {};
  for (const [name, value] of Object.entries(image)) out[name] = fromAvroValue(value);
  return out;
}

export interface AvroChangeEvent extends Omit<ChangeEvent, 'keys' | 'before' | 'after'> {
  keys: AvroImage;
  before: AvroImage | null;
  after: AvroImage | null;
}

export function toAvro(event: ChangeEvent): AvroChangeEvent {
  return {
    ...event,
    keys: toAvroImage(event.keys, 'keys'),
    before: event.before ? toAvroImage(event.before, 'before') : null,
    after: event.after ? toAvroImage(event.after, 'after') : null,
  };
}

export function fromAvro(event: AvroChangeEvent): ChangeEvent {
  return {
    ...event,
    source: {
      ...event.source,
      approximateCreationTimeMicros: Number(event.source.approximateCreationTimeMicros),
      // A plain object, as the direct reader (change-event-reader.ts) gives, not avsc's record instance.
      userIdentity: event.source.userIdentity ? { ...event.source.userIdentity } : null,
    },
    keys: fromAvroImage(event.keys),
    before: event.before ? fromAvroImage(event.before) : null,
    after: event.after ? fromAvroImage(event.after) : null,
  };
}

function keyPart(name: string, value: DynamoValue): string {
  if (typeof value?.S === 'string') return `S:${value.S}`;
  if (typeof value?.N === 'string') return `N:${value.N}`;
  if (value?.B instanceof Uint8Array) return `B:${Buffer.from(value.B).toString('base64')}`;
  const found = value !== null && typeof value === 'object' ? Object.keys(value).join(', ') || 'no type' : typeof value;
  throw new ConversionError(`key attribute ${name} must be S, N or B, found ${found}`);
}

/**
 * The item's identity as text: the key attributes in name order, each with its type. Deterministic,
 * so every change of an item gets the same Kafka key (and partition), document id and cache key.
 */
export function canonicalKey(keys: DynamoImage): string {
  return Object.keys(keys)
    .sort()
    .map((name) => `${name}=${keyPart(name, keys[name]!)}`)
    .join('|');
}

/** Versions rarely start with a zero: only those go through the pattern. */
const withoutLeadingZeros = (version: string): string =>
  version.charCodeAt(0) === 48 ? version.replace(/^0+(?=\d)/, '') : version;

/** Orders two versions (non-negative decimal integer strings of any length). */
export function compareVersions(a: string, b: string): number {
  const x = withoutLeadingZeros(a);
  const y = withoutLeadingZeros(b);
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}
