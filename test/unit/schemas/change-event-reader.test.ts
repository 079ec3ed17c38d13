import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { readChangeEvent } from '../../../schemas/change-event-reader.ts';
import {
  changeEventSchema,
  fromAvro,
  toAvro,
  type AvroChangeEvent,
  type ChangeEvent,
} from '../../../schemas/change-event.ts';
import { events } from './change-event-fixtures.ts';

const type = avro.Type.forSchema(JSON.parse(changeEventSchema) as avro.Schema);
/**
 * What the codec gave before the direct reader: avsc's reader, then `fromAvro` (whose user identity is
 * an instance of avsc's record class; the direct reader's is a plain object of the same fields).
 */
function throughAvsc(body: Buffer): ChangeEvent {
  const event = fromAvro(type.fromBuffer(body) as AvroChangeEvent);
  const identity = event.source.userIdentity;
  return {
    ...event,
    source: { ...event.source, userIdentity: identity && { type: identity.type, principalId: identity.principalId } },
  };
}

test('the direct reader gives what avsc and fromAvro give, for every type, op and source kind', () => {
  for (const event of events) {
    const body = type.toBuffer(toAvro(event));
    assert.deepEqual(readChangeEvent(body), throughAvsc(body));
    assert.deepEqual(readChangeEvent(Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), body]), 5), throughAvsc(body));
  }
});

test('binary values are copies, not views of the record they came in', () => {
  const body = type.toBuffer(toAvro(events[0]!));
  const read = readChangeEvent(body);
  body.fill(0);
  assert.deepEqual(read.after!.b, { B: Buffer.from([0, 255, 7]) });
});

/** Where the `keys` map begins in a body: after the op and four strings. */
function keysOffset(event: ChangeEvent): number {
  const string = avro.Type.forSchema('string');
  return (
    1 +
    [event.eventId, event.table, event.entity, event.version].reduce(
      (sum, text) => sum + string.toBuffer(text).length,
      0,
    )
  );
}

test('maps written in blocks with their byte size (a negative count) are read as avsc reads them', () => {
  const event = { ...events[2]!, keys: {} };
  const body = type.toBuffer(toAvro(event));
  const at = keysOffset(event);
  // "PK" -> an attribute value with S = "a" and the nine other fields null.
  const entry = Buffer.from([0x04, 0x50, 0x4b, 0x02, 0x02, 0x61, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const blocked = Buffer.concat([
    body.subarray(0, at),
    Buffer.from([0x01, entry.length * 2]),
    entry,
    Buffer.from([0]),
    body.subarray(at + 1),
  ]);
  assert.deepEqual(readChangeEvent(blocked), throughAvsc(blocked));
  assert.deepEqual(readChangeEvent(blocked).keys, { PK: { S: 'a' } });
});

test('a body that is cut short, too long or not of the schema is refused, as by avsc', () => {
  const body = type.toBuffer(toAvro(events[0]!));
  for (const bad of [
    body.subarray(0, body.length - 1),
    body.subarray(0, 20),
    Buffer.concat([body, Buffer.from([0])]),
  ]) {
    assert.throws(() => throughAvsc(bad));
    assert.throws(() => readChangeEvent(bad), /truncated buffer|trailing data/);
  }
  assert.throws(() => readChangeEvent(Buffer.from([0x0a])), /invalid Op enum index: 5/);
  // The `before` union (right after an empty keys map) with branch 2, past ["null", map].
  const event = { ...events[2]!, keys: {} };
  const badUnion = Buffer.from(type.toBuffer(toAvro(event)));
  badUnion[keysOffset(event) + 1] = 0x04;
  assert.throws(() => throughAvsc(badUnion), /invalid union index/);
  assert.throws(() => readChangeEvent(badUnion), /invalid union index: 2/);
});
