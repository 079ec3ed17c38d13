import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import {
  ConversionError,
  canonicalKey,
  changeEventSchema,
  compareVersions,
  fromAvro,
  toAvro,
  toAvroImage,
  type ChangeEvent,
} from '../../../schemas/change-event.ts';

const type = avro.Type.forSchema(JSON.parse(changeEventSchema) as avro.Schema);

const event = (after: ChangeEvent['after']): ChangeEvent => ({
  op: 'INSERT',
  eventId: 'e1',
  table: 'orders',
  entity: 'order',
  version: '4421584500000000017450439091',
  keys: { PK: { S: 'ORDER#1' } },
  before: null,
  after,
  source: {
    kind: 'DYNAMODB_STREAMS',
    region: 'us-east-1',
    table: 'orders',
    stream: 'arn',
    shardId: 'shard-1',
    sequenceNumber: '4421584500000000017450439091',
    approximateCreationTimeMicros: 1764000000123456,
    userIdentity: null,
    ttlDelete: false,
  },
});

test('every DynamoDB type survives the Avro round trip exactly', () => {
  const image = {
    PK: { S: 'ORDER#1' },
    n38: { N: '12345678901234567890123456789012345678' },
    small: { N: '1E-130' },
    b: { B: Buffer.from([0, 255]) },
    bs: { BS: [Buffer.from([1]), Buffer.from([])] },
    ss: { SS: ['x', 'y'] },
    ns: { NS: ['-1.5', '0'] },
    t: { BOOL: true },
    z: { NULL: true },
    l: { L: [{ S: 'a' }, { L: [] }, { M: { k: { N: '7' } } }] },
    m: { M: {} },
  };
  const decoded = fromAvro(type.fromBuffer(type.toBuffer(toAvro(event(image)))));
  assert.deepEqual(decoded.after, image);
  assert.equal(decoded.version, '4421584500000000017450439091');
  assert.equal(decoded.source.approximateCreationTimeMicros, 1764000000123456);
});

test('values that are not DynamoDB values are refused with the attribute path', () => {
  assert.throws(
    () => toAvroImage({ total: { N: '12abc' } }),
    (error: unknown) => error instanceof ConversionError && /total/.test(error.message),
  );
  assert.throws(
    () => toAvroImage({ total: { N: '123456789012345678901234567890123456789' } }),
    /more than 38 significant digits/,
  );
  assert.throws(() => toAvroImage({ x: {} }), /exactly one type, found none/);
  assert.throws(() => toAvroImage({ x: { S: 'a', N: '1' } }), /found S, N/);
  assert.throws(
    () => toAvroImage({ m: { M: { deep: { L: [{ Q: 1 } as never] } } } }),
    /m\.deep\[0\]: unknown attribute type Q/,
  );
});

test('the item key is canonical: attribute order does not matter, types do', () => {
  assert.equal(canonicalKey({ SK: { S: 'b' }, PK: { S: 'a' } }), canonicalKey({ PK: { S: 'a' }, SK: { S: 'b' } }));
  assert.notEqual(canonicalKey({ PK: { S: '1' } }), canonicalKey({ PK: { N: '1' } }));
  assert.equal(canonicalKey({ PK: { B: new Uint8Array([1, 2]) } }), 'PK=B:AQI=');
});

test('versions compare by value at any length', () => {
  assert.equal(compareVersions('99', '100'), -1);
  assert.equal(compareVersions('4421584500000000017450439091', '4421584500000000017450439090'), 1);
  assert.equal(compareVersions('0', '000'), 0);
  assert.equal(compareVersions('0', '1764000000123456'), -1);
});
