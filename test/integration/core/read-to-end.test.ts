import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Admin, ITopicConfig, Kafka, Message } from 'kafkajs';
import { formatCheckpointKey } from '../../../connector/checkpoint-keys.ts';
import {
  checkpointMessage,
  ensureCheckpointTopic,
  loadCheckpoints,
  type Checkpoint,
} from '../../../connector/checkpoints.ts';
import { placeBarrier } from '../../../core/barrier.ts';
import { createKafka } from '../../../core/kafka.ts';
import { readToEnd } from '../../../core/read-to-end.ts';
import { createTopics, topicMetadata } from '../../../core/topics.ts';
import { uniqueName } from '../../harness/endpoints.ts';
import { kafkaClusterUnavailable, startKafkaCluster, type KafkaTestCluster } from '../../harness/kafka-cluster.ts';

// Three brokers: a topic's partitions have leaders on some brokers and the consumer also fetches from
// the others, which is where reading "to the end" has to tell an idle broker from a finished partition.
const unavailable = kafkaClusterUnavailable();

describe(
  'readToEnd on a three-broker cluster',
  { skip: unavailable && `a three-broker Kafka cannot run here: ${unavailable}` },
  () => {
    let cluster: KafkaTestCluster | undefined;
    let kafka: Kafka;
    let admin: Admin;

    before(async () => {
      cluster = await startKafkaCluster({ brokers: 3, basePort: 19092 });
      kafka = createKafka({ brokers: cluster.brokers, clientId: 'read-to-end-test' });
      admin = kafka.admin();
      await admin.connect();
    });
    after(async () => {
      await admin?.disconnect();
      await cluster?.stop();
    });

    /** Creates a topic with three replicas of every partition (the cluster's default). */
    async function replicatedTopic(config: Omit<ITopicConfig, 'topic'>): Promise<string> {
      const topic = uniqueName('read-to-end');
      await createTopics(admin, [{ topic, ...config }]);
      return topic;
    }

    async function assertThreeReplicas(topic: string): Promise<void> {
      const [metadata] = await topicMetadata(admin, [topic]);
      assert.ok(
        metadata && metadata.partitions.every(({ replicas }) => replicas.length === 3),
        `every partition of ${topic} has three replicas`,
      );
    }

    const transactionalProducer = async (transactionalId = uniqueName('writer')) => {
      const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      return producer;
    };

    /** The sum of the topic's last stable offsets. */
    async function stableEnd(topic: string): Promise<number> {
      return (await admin.fetchTopicOffsets(topic)).reduce((sum, { offset }) => sum + Number(offset), 0);
    }

    /**
     * Writes each batch in its own transaction, aborting the ones `abort` picks, and returns once the last
     * one is visible: a commit returns before its markers are in the partitions, and even after a producer
     * with the same transactional id has initialised, the last stable offset was seen to lag behind the
     * last commit on this cluster. So it waits until the last stable offsets count every record and one
     * marker per partition and transaction.
     */
    async function writeTransactions(
      topic: string,
      batches: Message[][],
      abort: (index: number) => boolean = () => false,
    ): Promise<string> {
      const transactionalId = uniqueName('writer');
      const producer = await transactionalProducer(transactionalId);
      try {
        for (const [index, messages] of batches.entries()) {
          const transaction = await producer.transaction();
          // A broker takes record batches of up to 1 MB: large transactions go in several sends.
          for (let from = 0; from < messages.length; from += 500)
            await transaction.send({ topic, messages: messages.slice(from, from + 500) });
          await (abort(index) ? transaction.abort() : transaction.commit());
        }
      } finally {
        await producer.disconnect();
      }
      const expected = batches.reduce(
        (sum, messages) => sum + messages.length + new Set(messages.map(({ partition }) => partition ?? 0)).size,
        0,
      );
      const deadline = Date.now() + 30_000;
      while ((await stableEnd(topic)) < expected) {
        assert.ok(Date.now() < deadline, `the last stable offsets reach ${expected} within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return transactionalId;
    }

    /** Every value readToEnd hands over, and how long the read took. */
    async function readValues(topic: string): Promise<{ values: string[]; seconds: number }> {
      const values: string[] = [];
      const started = Date.now();
      await readToEnd(kafka, topic, uniqueName('reader'), (_partition, message) => {
        values.push(message.value?.toString() ?? '');
      });
      return { values, seconds: (Date.now() - started) / 1000 };
    }

    // A little padding makes the fetches carry some weight, as real change events do.
    const padding = 'x'.repeat(80);
    const records = (prefix: string, from: number, count: number, partitions: number): Message[] =>
      Array.from({ length: count }, (_, index) => ({
        partition: (from + index) % partitions,
        key: `k${from + index}`,
        value: `${prefix}-${from + index}-${padding}`,
      }));

    test(
      'a topic of several partitions written in transactions, one aborted, is read completely: every committed record once, no aborted one',
      { timeout: 60_000 },
      async () => {
        const partitions = 6;
        const topic = await replicatedTopic({ numPartitions: partitions });
        await assertThreeReplicas(topic);
        const perTransaction = 3_000;
        const committedTransactions = 10;
        // The aborted transaction sits halfway; every partition ends in a commit marker.
        const batches = Array.from({ length: committedTransactions }, (_, index) =>
          records('committed', index * perTransaction, perTransaction, partitions),
        );
        batches.splice(committedTransactions / 2, 0, records('aborted', 0, 500, partitions));
        await writeTransactions(topic, batches, (index) => index === committedTransactions / 2);

        const { values, seconds } = await readValues(topic);
        const committed = values.filter((value) => value.startsWith('committed-'));
        assert.equal(values.length - committed.length, 0, 'no aborted record is read');
        assert.equal(new Set(committed).size, committed.length, 'no record is read twice');
        assert.equal(
          committed.length,
          committedTransactions * perTransaction,
          `every committed record is read (read ${committed.length} in ${seconds}s)`,
        );
      },
    );

    test(
      'a transaction left open by another producer does not hold the read: it ends with everything committed before it and nothing of it',
      { timeout: 60_000 },
      async () => {
        const partitions = 3;
        const topic = await replicatedTopic({ numPartitions: partitions });
        await assertThreeReplicas(topic);
        await writeTransactions(
          topic,
          [0, 1, 2].map((index) => records('committed', index * 1_000, 1_000, partitions)),
        );
        const open = await transactionalProducer();
        try {
          const transaction = await open.transaction();
          await transaction.send({ topic, messages: records('open', 0, 300, partitions) });

          const { values, seconds } = await readValues(topic);
          assert.ok(seconds < 15, `the read ends promptly, not when the open transaction does (took ${seconds}s)`);
          assert.equal(
            values.filter((value) => value.startsWith('open-')).length,
            0,
            'nothing of the open transaction is read',
          );
          assert.equal(
            new Set(values).size,
            3_000,
            `everything committed before it is read, once (read ${values.length})`,
          );
          await transaction.abort();
        } finally {
          await open.disconnect();
        }
      },
    );

    const checkpoints = (connector: string, sequenceNumber: string, count: number, resumeKey?: string): Message[] =>
      Array.from({ length: count }, (_, index) =>
        checkpointMessage(formatCheckpointKey({ connector, stream: 'stream-1', shard: `shard-${index}` }), {
          sequenceNumber,
          finished: false,
          resumeKey,
        }),
      );

    /** What a connector does on start: fence the writer's transactional id, place a barrier, read past it. */
    async function loadAsConnector(topic: string, transactionalId: string, connector: string) {
      const fencing = await transactionalProducer(transactionalId);
      try {
        return await loadCheckpoints(kafka, topic, connector, await placeBarrier(fencing, topic, 0));
      } finally {
        await fencing.disconnect();
      }
    }

    const bySequence = (loaded: Map<string, Checkpoint>) =>
      Object.fromEntries(
        Object.entries(Object.groupBy([...loaded.values()], ({ sequenceNumber }) => sequenceNumber ?? 'none')).map(
          ([key, values]) => [key, values?.length],
        ),
      );

    test(
      'loadCheckpoints returns every checkpoint of a connector, the newest of each, past a large aborted transaction',
      { timeout: 60_000 },
      async () => {
        const topic = uniqueName('checkpoints');
        await ensureCheckpointTopic(admin, topic);
        await assertThreeReplicas(topic);
        const shards = 5_000;
        const inTransactionsOf = (size: number, messages: Message[]): Message[][] =>
          Array.from({ length: Math.ceil(messages.length / size) }, (_, index) =>
            messages.slice(index * size, (index + 1) * size),
          );
        // Two rounds of positions in transactions of 1,000, as a connector commits them. Between them an
        // instance that crashed mid-snapshot left a transaction of 4,000 positions with 1 KB resume keys
        // (several fetches' worth of records), aborted when the next instance fenced it.
        const aborted = checkpoints('orders', 'aborted', 4_000, JSON.stringify({ pk: { S: 'k'.repeat(1_000) } }));
        const batches = [
          ...inTransactionsOf(1_000, checkpoints('orders', '1', shards)),
          aborted,
          ...inTransactionsOf(1_000, checkpoints('orders', '2', shards)),
        ];
        const writer = await writeTransactions(topic, batches, (index) => batches[index] === aborted);

        const started = Date.now();
        const loaded = await loadAsConnector(topic, writer, 'orders');
        const seconds = (Date.now() - started) / 1000;
        assert.equal(loaded.size, shards, `every shard's checkpoint is loaded (loaded ${loaded.size} in ${seconds}s)`);
        assert.deepEqual(
          Object.keys(bySequence(loaded)),
          ['2'],
          `each shard has its newest position (by position: ${JSON.stringify(bySequence(loaded))})`,
        );
      },
    );

    test(
      'loadCheckpoints after fencing holds the last committed checkpoints while a transaction begun before them is still open',
      { timeout: 60_000 },
      async () => {
        // Two connectors share the checkpoint topic; the other one's transaction began before this
        // connector's last commit and stays open (a slow round, or a crash until its transaction times out).
        // The last stable offset stops at the open transaction's first record, before the commit.
        const topic = uniqueName('checkpoints');
        await ensureCheckpointTopic(admin, topic);
        const other = await transactionalProducer();
        const open = await other.transaction();
        await open.send({ topic, messages: checkpoints('other', '1', 10) });
        const writer = uniqueName('writer');
        const producer = await transactionalProducer(writer);
        const transaction = await producer.transaction();
        await transaction.send({ topic, messages: checkpoints('orders', '7', 100) });
        await transaction.commit();
        await producer.disconnect();
        const aborting = setTimeout(() => void open.abort().finally(() => other.disconnect()), 3_000);
        try {
          const loaded = await loadAsConnector(topic, writer, 'orders');
          assert.deepEqual(
            bySequence(loaded),
            { 7: 100 },
            'the committed checkpoints are loaded: read on past the open transaction once it ended',
          );
        } finally {
          clearTimeout(aborting);
        }
      },
    );
  },
);
