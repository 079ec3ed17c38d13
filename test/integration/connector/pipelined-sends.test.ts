import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { Connector } from '../../../connector/connector.ts';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { baseConnectorOptions } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { SimulatedStream, simulatedRecords } from '../../harness/simulated-streams.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

/** Kafka API key of Produce. */
const PRODUCE = 0;

/**
 * A KafkaJS client whose connections cut `failures` produce requests of the change topic, starting with
 * its `first`-th one: with KafkaJS's two retries spent, a send in the middle of a round fails.
 */
function kafkaFailingProduce(
  clientId: string,
  topic: string,
  first: number,
  failures: number,
): { kafka: Kafka; cut: () => number } {
  let seen = 0;
  let cut = 0;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
    socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
      const isChangeProduce =
        Buffer.isBuffer(chunk) && chunk.length >= 6 && chunk.readInt16BE(4) === PRODUCE && chunk.includes(topic);
      if (isChangeProduce && ++seen >= first && cut < failures) {
        cut++;
        socket.destroy(Object.assign(new Error('read ECONNRESET (injected)'), { code: 'ECONNRESET' }));
        return false;
      }
      return write(chunk, ...rest);
    }) as typeof socket.write;
    return socket;
  };
  return {
    kafka: new Kafka({
      clientId,
      brokers: testEndpoints().kafkaBrokers,
      socketFactory,
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100 },
    }),
    cut: () => cut,
  };
}

test(
  'a send that fails in the middle of a round, while the next slice is encoded, aborts the round; read again, every record is written once',
  { timeout: 120_000 },
  async () => {
    const prefix = uniqueName('pipelined');
    const topic = `${prefix}.orders.order`;
    const count = 5_000;
    const stream = new SimulatedStream(`arn:aws:dynamodb:us-east-1:0:table/${prefix}/stream/2026-01-01T00:00:00.000`, [
      { shardId: 'one', closed: true, records: simulatedRecords('r', 0, count) },
    ]);
    const source = new DynamoDbStreamSource(stream.client(), {
      table: 'orders',
      streamArn: stream.streamArn,
      region: 'us-east-1',
      entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
    });
    // The round's 5,000 events go out in three slices; the second slice's send fails (first try and both retries).
    const { kafka, cut } = kafkaFailingProduce(prefix, topic, 2, 3);
    const base = baseConnectorOptions(prefix);
    const options = {
      ...base,
      // The whole shard in one round, in several slices.
      polling: { ...base.polling, recordsPerRound: count },
      sources: [source],
      kafka,
      backoff: { baseMs: 100, maxMs: 500, attempts: Infinity },
    };
    const connector = new Connector(options);
    const running = connector.start();
    try {
      await waitForTopics(kafka, [topic]);
      const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
      await readTopics(kafka, [topic], (messages) => messages.length >= count, 60_000);
      await sleep(1_500); // anything more that would make a duplicate
      const read = await readTopics(kafka, [topic], () => false, 4_000);
      const ids = await Promise.all(read.map(async ({ message }) => (await codec.decode(message.value!)).eventId));
      assert.equal(cut(), 3, 'the second send and its two retries were cut');
      assert.equal(ids.length, count, 'nothing doubled');
      assert.equal(new Set(ids).size, count, 'nothing lost');
    } finally {
      await connector.stop();
      await running;
    }
  },
);
