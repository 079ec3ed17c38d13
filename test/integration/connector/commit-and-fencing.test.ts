import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Connector, type ConnectorOptions } from '../../../connector/connector.ts';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { placeBarrier } from '../../../core/barrier.ts';
import { createKafka } from '../../../core/kafka.ts';
import { readToEnd } from '../../../core/read-to-end.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { baseConnectorOptions } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { transactionalProducer } from '../../harness/producer.ts';
import { faultyKafka, slowConsumersKafka, type EndTxnFault, type KafkaFault } from '../../harness/faulty-kafka.ts';
import { SimulatedStream, simulatedRecords } from '../../harness/simulated-streams.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';
import { within } from '../../harness/within.ts';

// The AWS client is scripted so that records arrive exactly when the test says; Kafka and the registry are real.
function setup(name: string) {
  const prefix = uniqueName(name);
  const stream = new SimulatedStream(`arn:aws:dynamodb:us-east-1:0:table/${prefix}/stream/2026-01-01T00:00:00.000`, [
    { shardId: 'open', closed: false, records: [] },
  ]);
  const source = new DynamoDbStreamSource(stream.client(), {
    table: 'orders',
    streamArn: stream.streamArn,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
  const { kafka, fault } = faultyKafka(prefix);
  const options: ConnectorOptions = {
    ...baseConnectorOptions(prefix),
    sources: [source],
    kafka,
    stuckAfterMs: 1_000,
    backoff: { baseMs: 100, maxMs: 500, attempts: Infinity },
  };
  let written = 0;
  const write = (count: number) => {
    stream.shards[0]!.records.push(...simulatedRecords('r', written, count));
    written += count;
  };
  return { options, fault, write, written: () => written, topic: `${prefix}.orders.order` };
}

/** Every event id in the topic, however many there are (read to the end, not to an expected count). */
async function allEventIds(options: ConnectorOptions, topic: string, atLeast: number): Promise<string[]> {
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  await readTopics(options.kafka, [topic], (messages) => messages.length >= atLeast, 30_000);
  await sleep(1_500); // anything more that would make a duplicate
  const read = await readTopics(options.kafka, [topic], () => false, 4_000);
  return Promise.all(read.map(async ({ message }) => (await codec.decode(message.value!)).eventId));
}

/**
 * Runs the connector until its first 10 records are in Kafka, then writes 5 more under `mode` and stops it once the
 * fault was hit `hits` times; the fault is lifted after the stop, which must return within 15 s.
 */
async function stopUnderFault(
  connector: Connector,
  { options, fault, write, topic }: Pick<ReturnType<typeof setup>, 'options' | 'fault' | 'write' | 'topic'>,
  mode: KafkaFault,
  hits: number,
): Promise<void> {
  const running = connector.start();
  write(10);
  await waitForTopics(options.kafka, [topic]);
  await readTopics(options.kafka, [topic], (messages) => messages.length >= 10, 30_000);
  fault.mode = mode;
  write(5);
  while (fault.hits < hits) await sleep(50);
  await within(connector.stop(), 15_000, `the stop of a connector under ${mode}`);
  await running;
  fault.mode = 'none';
}

function assertExactlyOnce(ids: string[], written: number): void {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const doubled = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
  const lost = Array.from({ length: written }, (_, index) => `r-${index}`).filter((id) => !counts.has(id));
  assert.deepEqual({ lost, doubled }, { lost: [], doubled: [] });
}

for (const mode of ['lose-response', 'drop-request'] as EndTxnFault[]) {
  test(
    `a commit that fails (${mode}) is recovered: nothing lost or doubled, the connector goes on, /ready is false meanwhile`,
    { timeout: 120_000 },
    async () => {
      const { options, fault, write, written, topic } = setup(`commit-${mode}`);
      const connector = new Connector(options);
      const running = connector.start();
      try {
        write(30);
        await waitForTopics(options.kafka, [topic]);
        await readTopics(options.kafka, [topic], (messages) => messages.length >= 30, 30_000);
        // Every commit fails for four seconds while records keep coming.
        fault.mode = mode;
        let notReady = false;
        const until = Date.now() + 4_000;
        while (Date.now() < until) {
          write(2);
          notReady ||= !connector.health().ready;
          await sleep(100);
        }
        fault.mode = 'none';
        assert.ok(fault.hits > 0, 'the fault was hit');
        assert.ok(notReady, '/ready turned false while commits failed');
        write(25);
        assertExactlyOnce(await allEventIds(options, topic, written()), written());
        assert.equal(connector.health().ready, true);
      } finally {
        fault.mode = 'none';
        await connector.stop();
        await running;
      }
    },
  );
}

test(
  'a second instance fences the first before it reads the checkpoints: every record once, however slowly it starts',
  { timeout: 120_000 },
  async () => {
    const { options, write, written, topic } = setup('fence');
    const zombie = new Connector(options);
    await zombie.start();
    write(20);
    await waitForTopics(options.kafka, [topic]);
    await readTopics(options.kafka, [topic], (messages) => messages.length >= 20, 30_000);
    // Records keep arriving while the successor starts; its checkpoint read takes two seconds.
    let writing = true;
    const writer = (async () => {
      while (writing) {
        write(2);
        await sleep(100);
      }
    })();
    const successor = new Connector({ ...options, kafka: slowConsumersKafka(options.kafka, 2_000) });
    const successorRun = successor.start();
    await assert.rejects(
      zombie.failed,
      (error: Error) => /another instance with connector\.name "[^"]+" took over/.test(error.message),
      'the zombie is fenced and stops, and the command says another instance took over',
    );
    await sleep(1_500);
    writing = false;
    await writer;
    const ids = await allEventIds(options, topic, written());
    await successor.stop();
    await successorRun;
    await zombie.stop();
    assertExactlyOnce(ids, written());
  },
);

test(
  'a unit stopped with its instance while its commits fail leaves no transaction open: a checkpoint load past a barrier right after does not wait for the broker to time it out',
  { timeout: 120_000 },
  async () => {
    const { options, fault, write, topic } = setup('stop-open');
    // One unit of a scaled-out instance that leaves the group: no next owner fences it before it has stopped.
    const connector = new Connector({
      ...options,
      unit: { unit: 0, owns: () => true, committedCheckpoints: async () => new Map(), leavingGroup: () => true },
    });
    // The commit's EndTxn never leaves: the round's transaction, then each recovery's barrier, stays open.
    await stopUnderFault(connector, { options, fault, write, topic }, 'drop-request', 2);

    // Another producer's barrier (a unit's next owner loading): read past it within 15 s without a record, far
    // less than the 60 s after which the broker would abort a transaction left open.
    const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
    const producer = await transactionalProducer(kafka, 'next-owner');
    try {
      const barrier = await placeBarrier(producer, options.topics.checkpoints, 0);
      await readToEnd(kafka, options.topics.checkpoints, uniqueName('past-barrier'), () => undefined, {
        barrier,
        timeoutMs: 15_000,
      });
    } finally {
      await producer.disconnect();
    }
  },
);

test(
  'a stop while Kafka does not answer the round in progress returns after the stop timeout; the next instance writes every record once',
  { timeout: 120_000 },
  async () => {
    const { options, fault, write, written, topic } = setup('stop-unanswered');
    const connector = new Connector({ ...options, stopTimeoutMs: 1_000 });
    // The next round's send never reaches the broker; KafkaJS waits for its answer, then retries without limit.
    await stopUnderFault(connector, { options, fault, write, topic }, 'hold-produce', 1);

    const successor = new Connector(options);
    await successor.start();
    write(5);
    try {
      assertExactlyOnce(await allEventIds(options, topic, written()), written());
    } finally {
      await successor.stop();
    }
  },
);
