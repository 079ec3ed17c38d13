import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { ChangeEventWriter, NotDirectlyWritable } from '../../../schemas/change-event-writer.ts';
import {
  changeEventSchema,
  toAvro,
  type ChangeEvent,
  type DynamoImage,
  type DynamoValue,
} from '../../../schemas/change-event.ts';
import { events } from './change-event-fixtures.ts';

const type = avro.Type.forSchema(JSON.parse(changeEventSchema) as avro.Schema);
/** What the codec wrote before the direct writer. */
const throughAvsc = (event: ChangeEvent): Buffer => type.toBuffer(toAvro(event));

function written(writer: ChangeEventWriter, event: ChangeEvent): Buffer {
  writer.begin(0);
  writer.event(event);
  return writer.finish();
}

/** A seeded generator (mulberry32), so a failure names the event that shows it. */
function randomness(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEvents(seed: number, count: number): ChangeEvent[] {
  const random = randomness(seed);
  const below = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[below(items.length)]!;
  // ASCII, two-, three- and four-byte characters; strings past 64 characters take the runtime's encoder, and
  // there a lone surrogate is written as avsc writes it too (U+FFFD).
  const alphabet = ['a', 'Z', '0', '#', ' ', 'é', 'ß', '東', '京', '🚀', '\u0000', '\u007f', '\u0800'];
  const text = (): string => {
    const length = pick([0, 1, 5, 20, 63, 64, 65, 200]);
    let out = '';
    while (out.length < length) out += pick(alphabet);
    return length > 64 && random() < 0.2 ? `${out}\uD800` : out;
  };
  const number = (): string =>
    pick(['0', '-1.5', '12.30', '1E-130', '9.99e+125', '12345678901234567890123456789012345678', String(below(1e9))]);
  const bytes = (): Buffer => Buffer.from(Array.from({ length: pick([0, 1, 3, 130]) }, () => below(256)));
  const value = (depth: number): DynamoValue => {
    switch (below(depth > 2 ? 8 : 10)) {
      case 0:
        return { S: text() };
      case 1:
        return { N: number() };
      case 2:
        return { B: bytes() };
      case 3:
        return { BOOL: random() < 0.5 };
      case 4:
        return { NULL: true };
      case 5:
        return { SS: Array.from({ length: below(4) }, text) };
      case 6:
        return { NS: Array.from({ length: below(4) }, number) };
      case 7:
        return { BS: Array.from({ length: below(3) }, bytes) };
      case 8:
        return { L: Array.from({ length: below(4) }, () => value(depth + 1)) };
      default:
        return { M: image(depth + 1) };
    }
  };
  const image = (depth: number): DynamoImage => {
    const out: DynamoImage = {};
    // Integer-like names come first in a JavaScript object's key order: both writers keep that order.
    for (let index = below(depth === 0 ? 30 : 4); index > 0; index--)
      out[pick(['7', 'a', text()]) + index] = value(depth);
    return out;
  };
  return Array.from({ length: count }, () => ({
    op: pick(['INSERT', 'MODIFY', 'REMOVE', 'SNAPSHOT', 'SWEEP'] as const),
    eventId: text(),
    table: text(),
    entity: text(),
    version: pick(['0', String(below(1e9)), '4421584500000000017450439091', '9'.repeat(40)]),
    keys: image(1),
    before: random() < 0.5 ? null : image(0),
    after: random() < 0.3 ? null : image(0),
    source: {
      kind: pick(['DYNAMODB_STREAMS', 'KINESIS', 'SNAPSHOT'] as const),
      region: text(),
      table: text(),
      stream: text(),
      shardId: text(),
      sequenceNumber: text(),
      approximateCreationTimeMicros: pick([
        0,
        -1,
        63,
        64,
        1_073_741_823,
        1_073_741_824,
        -1_073_741_825,
        1_764_000_000_123_456,
        -1_764_000_000_123_456,
        2 ** 53 - 2,
        2 - 2 ** 53,
      ]),
      userIdentity: random() < 0.5 ? null : { type: text(), principalId: text() },
      ttlDelete: random() < 0.5,
    },
  }));
}

test('the direct writer writes the bytes avsc writes for toAvro(event), for every type, op and source kind', () => {
  const writer = new ChangeEventWriter(1 << 20);
  for (const event of events) assert.deepEqual(written(writer, event), throughAvsc(event));
});

test('the direct writer writes what avsc writes for 3,000 random events', () => {
  const writer = new ChangeEventWriter(1 << 20);
  for (const [index, event] of randomEvents(20261127, 3_000).entries())
    assert.deepEqual(written(writer, event), throughAvsc(event), `event ${index}`);
});

test('bytes written stay unchanged while later events fill and outgrow the arena', () => {
  // An arena smaller than most events: nearly every event moves to a new one part-way through.
  const writer = new ChangeEventWriter(64);
  const sample = randomEvents(7, 500);
  const slices = sample.map((event) => written(writer, event));
  for (const [index, event] of sample.entries()) assert.deepEqual(slices[index], throughAvsc(event), `event ${index}`);
});

test('an event only the general path judges is left to it, and the arena is as before', () => {
  const base = events[0]!;
  const withAfter = (after: Record<string, unknown>): ChangeEvent => ({ ...base, after: after as DynamoImage });
  const inherited = Object.create({ extra: { S: 'inherited' } }) as DynamoImage;
  inherited.PK = { S: 'ORDER#1' };
  const cases: [string, ChangeEvent][] = [
    ['an unknown op', { ...base, op: 'UPSERT' } as unknown as ChangeEvent],
    ['a number that is not one', withAfter({ n: { N: '1,5' } })],
    ['39 significant digits', withAfter({ n: { N: '1'.repeat(39) } })],
    ['two types', withAfter({ v: { S: 'a', N: '1' } })],
    ['no type', withAfter({ v: {} })],
    ['an unknown type', withAfter({ v: { X: 'a' } })],
    ['a string of another type', withAfter({ v: { S: 7 } })],
    ['binary that is not bytes', withAfter({ v: { B: 'abc' } })],
    ['a list that is not one', withAfter({ v: { L: 'abc' } })],
    ['an inherited attribute', { ...base, after: inherited }],
    ['a time avsc refuses', { ...base, source: { ...base.source, approximateCreationTimeMicros: 2 ** 53 - 1 } }],
    ['a fractional time', { ...base, source: { ...base.source, approximateCreationTimeMicros: 1.5 } }],
    ['a missing flag', { ...base, source: { ...base.source, ttlDelete: undefined as unknown as boolean } }],
    ['a lone surrogate in a short string', withAfter({ s: { S: 'a\uD800b' } })],
    ['a lone surrogate at the end', { ...base, eventId: 'id\uDFFF' }],
    ['a user identity that is a list', { ...base, source: { ...base.source, userIdentity: [] as never } }],
    ['an event with fields of its prototype', Object.create(base) as ChangeEvent],
  ];
  const writer = new ChangeEventWriter(1 << 20);
  const before = written(writer, events[1]!);
  for (const [name, event] of cases) {
    writer.begin(0);
    assert.throws(() => writer.event(event), NotDirectlyWritable, name);
    writer.discard();
  }
  // The next event starts where the refused ones began: nothing was kept of them.
  const after = written(writer, events[1]!);
  assert.equal(after.byteOffset, before.byteOffset + before.length);
  assert.deepEqual(after, throughAvsc(events[1]!));
});

test('NULL is written as true, whatever the value holds, as toAvro writes it', () => {
  const event = { ...events[0]!, after: { z: { NULL: false } } };
  assert.deepEqual(written(new ChangeEventWriter(1 << 20), event), throughAvsc(event));
});
