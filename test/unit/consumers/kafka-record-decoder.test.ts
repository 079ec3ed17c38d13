import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  decodeRecord,
  type FetchedRecord,
  installRecordDecoder,
  kafkaJsRecordDecoder,
  type BatchContext,
  type KafkaDecoder,
} from '../../../consumers/runtime/kafka-record-decoder.ts';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => KafkaDecoder;
const encodeKafkaJsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: object) => {
  buffer: Buffer;
};
const kafkaJs = kafkaJsRecordDecoder();
/** A record as a plain object, its headers (a getter) read: what KafkaJS's decoder returns. */
const asKafkaJs = (record: FetchedRecord) => ({ ...record, headers: record.headers });

/** A record's own bytes, as the batch decoder hands them to the record decoder. */
const recordDecoder = (record: object): KafkaDecoder =>
  new Decoder(new Decoder(encodeKafkaJsRecord(record).buffer).readVarIntBytes()!);

const context = (overrides: Partial<BatchContext> = {}): BatchContext => ({
  firstOffset: '1200',
  firstTimestamp: '1764000000000',
  magicByte: 2,
  isControlBatch: false,
  timestampType: 0,
  maxTimestamp: '1764000009999',
  ...overrides,
});

const records: {
  key: string | Buffer | null;
  value: string | Buffer | null;
  offsetDelta: number;
  timestampDelta: number;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
}[] = [
  {
    key: 'PK=S:ORDER#1',
    value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
    offsetDelta: 0,
    timestampDelta: 0,
    headers: {
      ce_specversion: '1.0',
      ce_id: 'a',
      ce_type: 'order.created',
      ce_source: 's',
      ce_subject: 'PK=S:ORDER#1',
      ce_time: '2026-11-26T10:15:00.000Z',
      'content-type': 'application/avro',
    },
  },
  { key: null, value: null, offsetDelta: 999, timestampDelta: 12 },
  {
    key: Buffer.from('k'),
    value: 'ünïcödé ✓',
    offsetDelta: 63,
    timestampDelta: -64,
    headers: { multi: ['one', Buffer.from('two'), 'three'], empty: '' },
  },
  { key: 'x', value: 'y', offsetDelta: 2 ** 31 - 1, timestampDelta: 2 ** 40 },
  { key: 'x', value: 'y', offsetDelta: 128, timestampDelta: -(2 ** 35) },
  // Deltas past seven varint bytes, and names KafkaJS's object literal treats as plain properties.
  {
    key: 'x',
    value: 'y',
    offsetDelta: 1,
    timestampDelta: 2 ** 52 + 3,
    headers: { toString: 'a', ['__proto__']: 'b', constructor: ['c', 'd'] },
  },
];

const contexts = [
  context(),
  context({ timestampType: 1 }),
  context({ isControlBatch: true }),
  context({ firstOffset: '9007199254740990', firstTimestamp: '-5' }),
  context({ firstOffset: '9223372036854775000', firstTimestamp: '9223372036854775000' }),
  { firstOffset: '7', firstTimestamp: '8', magicByte: 2, timestampType: 0, maxTimestamp: '9' },
];

test('records are decoded field for field as KafkaJS decodes them', () => {
  for (const batchContext of contexts) {
    for (const record of records) {
      const [fast, original] = [recordDecoder(record), recordDecoder(record)];
      const label = `${JSON.stringify(record).slice(0, 60)} in ${JSON.stringify(batchContext)}`;
      assert.deepStrictEqual(asKafkaJs(decodeRecord(fast, batchContext)), kafkaJs(original, batchContext), label);
      assert.equal(fast.offset, original.offset, label);
    }
  }
});

test('odd header lengths move the decoder as far as KafkaJS moves it', () => {
  // attributes, timestamp and offset deltas, null key and value, one header: a name of length -2, a value of -1 (zig-zag varints).
  const bytes = Buffer.from([0, 0, 0, 1, 1, 2, 3, 1]);
  const [fast, original] = [new Decoder(bytes), new Decoder(bytes)];
  const record = decodeRecord(fast, context());
  const expected = kafkaJs(original, context());
  assert.equal(fast.offset, original.offset);
  assert.deepStrictEqual(asKafkaJs(record), expected);
});

test('headers are decoded once, when first read, and can be replaced', () => {
  const fast = decodeRecord(recordDecoder(records[0]!), context());
  const original = kafkaJs(recordDecoder(records[0]!), context()) as { headers: unknown };
  assert.deepStrictEqual(fast.headers, original.headers);
  assert.equal(fast.headers, fast.headers);
  fast.headers = { replaced: null };
  assert.deepStrictEqual(fast.headers, { replaced: null });
});

test('once installed, fetched record batches are decoded with it', async () => {
  assert.equal(installRecordDecoder(), true);
  assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js'), decodeRecord);
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
    RecordBatch: (batch: object) => Promise<{ buffer: Buffer }>;
  };
  const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
    decoder: KafkaDecoder,
  ) => Promise<{ records: unknown[] }>;
  const batch = await RecordBatch({
    firstOffset: 40n,
    firstTimestamp: 1764000000000,
    maxTimestamp: 1764000000012,
    records: records.map((record) => encodeKafkaJsRecord(record)),
  });
  const decoded = await decodeBatch(new Decoder(batch.buffer));
  assert.equal(decoded.records.length, records.length);
  assert.deepEqual((decoded.records[0] as { headers: Record<string, Buffer> }).headers.ce_id, Buffer.from('a'));
  assert.equal((decoded.records[1] as { offset: string }).offset, '1039');
});
