import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { refuseResends, ResendRefused, type GuardedProduce } from '../../../core/kafkajs-resend-guard.ts';
import { kafkaJsRequire } from '../../../core/kafkajs-internals.ts';
import { installProduceEncoder } from '../../../connector/kafka-produce-encoder.ts';

const produce = (sequence: number, messages: object[], epoch = 0): GuardedProduce => ({
  producerId: 7,
  producerEpoch: epoch,
  topicData: [{ topic: 'orders', partitions: [{ partition: 0, firstSequence: sequence, messages }] }],
});

test('records sent again under the sequence number they first had pass (a retry the broker recognises)', () => {
  const messages = [{ value: 'a' }, { value: 'b' }];
  refuseResends(produce(18, messages));
  refuseResends(produce(18, messages));
});

test('records sent again under another sequence number are refused, naming the partition and both numbers', () => {
  const messages = [{ value: 'a' }, { value: 'b' }];
  refuseResends(produce(18, messages));
  assert.throws(
    () => refuseResends(produce(20, messages)),
    (error: unknown) =>
      error instanceof ResendRefused && /orders:0/.test(error.message) && /sequence 20, sent at 18/.test(error.message),
  );
});

test('other records, the same ones from a new producer epoch or to another partition, or a producer that is not idempotent, pass', () => {
  const messages = [{ value: 'a' }];
  refuseResends(produce(18, messages));
  refuseResends(produce(19, [{ value: 'a' }]));
  refuseResends(produce(0, messages, 1));
  // A keyless record KafkaJS's round-robin partitioner sent to partition 0, then on a retry to partition 4.
  const moved = produce(3, messages, 1);
  moved.topicData[0]!.partitions[0]!.partition = 4;
  refuseResends(moved);
  refuseResends({ ...produce(5, messages, 1), producerId: -1 });
});

/**
 * KafkaJS's own send (sendMessages, its retrier and idempotence manager) against two brokers: broker 2 fails
 * at once, broker 1 answers slowly (acks=all while a replica is dying). KafkaJS retries without waiting for
 * broker 1, queues a second request to it, and when the first succeeds sends the same records under the next
 * sequence number. The guard refuses that request, so the send fails instead of writing them twice.
 */
test("KafkaJS's retry while a request is on its way would write its records again: refused, the records written once", async () => {
  assert.ok(installProduceEncoder(), 'the checked KafkaJS version');
  const createSendMessages = kafkaJsRequire('kafkajs/src/producer/sendMessages.js') as (
    options: object,
  ) => (send: object) => Promise<unknown>;
  const createEosManager = kafkaJsRequire('kafkajs/src/producer/eosManager/index.js') as (options: object) => {
    initProducerId(): Promise<void>;
  };
  const createRetry = kafkaJsRequire('kafkajs/src/retry/index.js') as (options: object) => unknown;
  const { KafkaJSConnectionError } = kafkaJsRequire('kafkajs/src/errors.js') as {
    KafkaJSConnectionError: new (message: string) => Error;
  };
  const produceRequest = kafkaJsRequire('kafkajs/src/protocol/requests/produce/v3/request.js') as (
    input: object,
  ) => unknown;

  const written: { nodeId: number; partition: number; firstSequence: number }[] = [];
  let brokerTwoCalls = 0;
  const broker = (nodeId: number) => ({
    nodeId,
    initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
    produce: async (
      input: GuardedProduce & { topicData: { partitions: { partition: number; firstSequence: number }[] }[] },
    ) => {
      produceRequest(input); // as KafkaJS's broker does, making the request it sends (the guard checks it here)
      if (nodeId === 2 && brokerTwoCalls++ === 0) throw new KafkaJSConnectionError('Connection error: read ECONNRESET');
      if (nodeId === 1) await sleep(50);
      const partitions = input.topicData[0]!.partitions;
      for (const { partition, firstSequence } of partitions) written.push({ nodeId, partition, firstSequence });
      return {
        topics: [
          {
            topicName: 'orders',
            partitions: partitions.map(({ partition }) => ({ partition, errorCode: 0, baseOffset: '0' })),
          },
        ],
      };
    },
  });
  const brokers = new Map([
    [1, broker(1)],
    [2, broker(2)],
  ]);
  const cluster = {
    retry: { initialRetryTime: 1, retries: 3 },
    isConnected: () => true,
    addMultipleTargetTopics: async () => undefined,
    refreshMetadataIfNecessary: async () => undefined,
    refreshMetadata: async () => undefined,
    findControllerBroker: async () => brokers.get(1),
    findBroker: async ({ nodeId }: { nodeId: string }) => brokers.get(Number(nodeId)),
    findTopicPartitionMetadata: () => [
      { partitionId: 0, leader: 1 },
      { partitionId: 1, leader: 2 },
    ],
    findLeaderForPartitions: () => ({ 1: [0], 2: [1] }),
  };
  const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const eosManager = createEosManager({ logger, cluster, transactional: false });
  await eosManager.initProducerId();
  const send = createSendMessages({
    logger,
    cluster,
    partitioner: ({ message }: { message: { partition: number } }) => message.partition,
    eosManager,
    retrier: createRetry({ initialRetryTime: 1, retries: 3 }),
  });

  const messages = [
    { key: 'a', value: 'x', partition: 0 },
    { key: 'b', value: 'y', partition: 0 },
    { key: 'c', value: 'z', partition: 1 },
  ];
  await assert.rejects(
    send({ acks: -1, timeout: 30_000, compression: 0, topicMessages: [{ topic: 'orders', messages }] }),
    ResendRefused,
  );
  await sleep(100);
  assert.deepEqual(
    written.filter(({ partition }) => partition === 0),
    [{ nodeId: 1, partition: 0, firstSequence: 0 }],
    "partition 0's records written once",
  );
});
