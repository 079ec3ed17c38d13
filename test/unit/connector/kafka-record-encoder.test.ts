import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  encodeRecord,
  installRecordEncoder,
  kafkaJsRecordEncoder,
  type RecordInput,
} from '../../../connector/kafka-record-encoder.ts';

const kafkaJs = kafkaJsRecordEncoder();

const records: RecordInput[] = [
  {},
  {
    key: 'PK=S:ORDER#1',
    value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
    headers: { ce_id: 'a', 'content-type': 'application/avro' },
    offsetDelta: 0,
    timestampDelta: 0,
  },
  { key: Buffer.from('k'), value: null, offsetDelta: 999, timestampDelta: 12 },
  {
    key: null,
    value: 'plain text, ünïcödé ✓',
    headers: { multi: ['one', Buffer.from('two')], empty: '' },
    offsetDelta: 63,
    timestampDelta: -64,
  },
  {
    key: 'x'.repeat(300),
    value: Buffer.alloc(70_000, 7),
    headers: { ['h'.repeat(200)]: 'v'.repeat(20_000) },
    offsetDelta: 2 ** 31 - 1,
    timestampDelta: 2 ** 40,
  },
  { key: undefined, value: undefined, timestampDelta: -(2 ** 35), offsetDelta: 128 },
];

test('records are encoded byte for byte as KafkaJS encodes them', () => {
  for (const record of records) {
    const expected = kafkaJs(record).buffer;
    const actual = encodeRecord(record);
    assert.ok(actual, `encoded ${JSON.stringify(record).slice(0, 80)}`);
    assert.deepEqual(actual.buffer, expected, JSON.stringify(record).slice(0, 80));
    assert.equal(actual.offset, expected.length);
  }
});

test('what the encoder was not written for is left to KafkaJS, which fails as before', () => {
  for (const bad of [undefined, null, 12]) {
    const record = { key: 'k', value: 'v', headers: { bad } } as unknown as RecordInput;
    assert.equal(encodeRecord(record), undefined);
    assert.throws(() => kafkaJs(record));
  }
  assert.equal(encodeRecord({ key: 12 as unknown as string, value: 'v' }), undefined);
});

test('once installed, KafkaJS produce requests take their records from it, with the same bytes in the batch', async () => {
  assert.equal(installRecordEncoder(), true);
  const require = createRequire(import.meta.url);
  assert.notEqual(require('kafkajs/src/protocol/recordBatch/record/v0/index.js'), kafkaJs);
  type Produce = {
    protocol(version: { version: number }): (args: object) => { request: { encode(): Promise<{ buffer: Buffer }> } };
  };
  const produce = (require('kafkajs/src/protocol/requests/produce/index.js') as Produce).protocol({ version: 7 });
  const messages = records.slice(1, 4).map((input) => ({ ...input, timestamp: '1764000000000' }));
  const { buffer } = await produce({
    acks: -1,
    timeout: 1000,
    topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages }] }],
  }).request.encode();
  for (const [index, message] of messages.entries()) {
    assert.ok(
      buffer.includes(kafkaJs({ ...message, offsetDelta: index, timestampDelta: 0 }).buffer),
      `record ${index} in the request`,
    );
  }
});

test('varlongs beyond 2^52 (either sign) are encoded exactly, as KafkaJS encodes them', () => {
  const edges = [
    2 ** 52 - 1,
    2 ** 52,
    2 ** 52 + 1,
    2 ** 53 - 1,
    -(2 ** 52),
    -(2 ** 52) - 1,
    -(2 ** 52) - 3,
    -(2 ** 53 - 1),
    2 ** 31,
    -(2 ** 31) - 1,
  ];
  for (const timestampDelta of edges) {
    assert.deepEqual(
      encodeRecord({ timestampDelta, value: 'v' })?.buffer,
      kafkaJs({ timestampDelta, value: 'v' }).buffer,
      `timestampDelta ${timestampDelta}`,
    );
  }
});

test('a field Kafka reads as a 32-bit varint is refused beyond 32 bits, instead of being written as bytes the broker misreads', () => {
  for (const offsetDelta of [2 ** 31, -(2 ** 31) - 1, 2 ** 40]) {
    assert.throws(() => encodeRecord({ offsetDelta, value: 'v' }), RangeError, `offsetDelta ${offsetDelta}`);
  }
  assert.deepEqual(
    encodeRecord({ offsetDelta: -(2 ** 31), value: 'v' })?.buffer,
    kafkaJs({ offsetDelta: -(2 ** 31), value: 'v' }).buffer,
  );
});
