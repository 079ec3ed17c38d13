import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  encodeProduceRequest,
  installProduceEncoder,
  type ProduceRequestInput,
} from '../../../connector/kafka-produce-encoder.ts';

const require = createRequire(import.meta.url);
type ProduceFactory = (input: ProduceRequestInput) => { encode(): Promise<{ buffer: Buffer }> };
// Nothing is installed yet: KafkaJS's own produce request, with its own record encoder.
const kafkaJsRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as ProduceFactory;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): unknown };

const NOW = 1_764_000_000_123;

/** KafkaJS's bytes for the request, with its clock at NOW. */
async function kafkaJsBytes(input: ProduceRequestInput): Promise<Buffer> {
  const realNow = Date.now;
  Date.now = () => NOW;
  try {
    return (await kafkaJsRequest(input).encode()).buffer;
  } finally {
    Date.now = realNow;
  }
}

const event = (index: number) => ({
  key: `PK=S:ORDER#${index}`,
  value: Buffer.from(`avro ${index} ${'x'.repeat(index % 700)}`),
  headers: {
    ce_specversion: '1.0',
    ce_id: `id-${index}`,
    ce_subject: `ORDER#${index} ünï`,
    'content-type': 'application/avro',
  },
});

const requests: ProduceRequestInput[] = [
  {
    acks: -1,
    timeout: 30_000,
    transactionalId: 'shardline-connector-x',
    producerId: Long.fromValue('4611686018427387905'),
    producerEpoch: 7,
    topicData: [
      {
        topic: 'shardline.orders.order',
        partitions: [
          { partition: 0, firstSequence: 12_345, messages: Array.from({ length: 300 }, (_, index) => event(index)) },
          {
            partition: 2,
            firstSequence: 0,
            messages: [
              event(1),
              { key: null, value: null },
              { key: Buffer.from('k'), value: 'text ✓', headers: { multi: ['a', Buffer.from('b')] } },
            ],
          },
        ],
      },
      {
        topic: 'checkpoints',
        partitions: [
          { partition: 0, firstSequence: 2 ** 31 - 1, messages: [{ key: 'c', value: '{"sequenceNumber":"1"}' }] },
        ],
      },
    ],
  },
  // Not transactional, with the timestamps KafkaJS sorts as it finds them (strings as strings).
  {
    acks: 1,
    timeout: 1000,
    topicData: [
      {
        topic: 't',
        partitions: [
          {
            partition: 5,
            messages: [
              { key: 'a', value: 'v', timestamp: '1764000000900' },
              { key: 'b', value: 'v', timestamp: '1764000000100' },
              { key: 'c', value: 'v' },
              { key: 'd', value: 'v', timestamp: '999' },
            ],
          },
        ],
      },
    ],
  },
  { acks: 0, timeout: 1, transactionalId: null, topicData: [] },
];

test('produce requests are encoded byte for byte as KafkaJS encodes them', async () => {
  for (const [index, input] of requests.entries()) {
    const actual = encodeProduceRequest(input, NOW);
    assert.ok(actual, `request ${index} encoded`);
    assert.deepEqual(actual.buffer, await kafkaJsBytes(input), `request ${index}`);
    assert.equal(actual.offset, actual.buffer.length);
  }
});

test('compressed requests, and records the record encoder leaves to KafkaJS, are left to KafkaJS', () => {
  const topicData = [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }] }] }];
  assert.equal(encodeProduceRequest({ acks: -1, timeout: 1, compression: 1, topicData }), undefined);
  const badHeader = [
    {
      topic: 't',
      partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v', headers: { bad: 12 as unknown as string } }] }],
    },
  ];
  assert.equal(encodeProduceRequest({ acks: -1, timeout: 1, topicData: badHeader }), undefined);
});

test('once installed, KafkaJS produce requests v3 to v7 are encoded by it, with the same bytes', async () => {
  assert.equal(installProduceEncoder(), true);
  type Produce = {
    protocol(version: {
      version: number;
    }): (args: ProduceRequestInput) => { request: { apiVersion: number; encode(): Promise<{ buffer: Buffer }> } };
  };
  const produce = require('kafkajs/src/protocol/requests/produce/index.js') as Produce;
  const input = requests[0]!;
  for (const version of [3, 4, 5, 6, 7]) {
    const { request } = produce.protocol({ version })(input);
    assert.equal(request.apiVersion, version);
    const realNow = Date.now;
    Date.now = () => NOW;
    try {
      const payload = await request.encode();
      assert.ok(!('writeInt8' in payload), `v${version}: not KafkaJS's Encoder`);
      assert.deepEqual(payload.buffer, await kafkaJsBytes(input), `v${version}`);
    } finally {
      Date.now = realNow;
    }
  }
});
