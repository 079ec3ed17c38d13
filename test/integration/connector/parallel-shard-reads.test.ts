import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GetRecordsCommand } from '@aws-sdk/client-dynamodb-streams';
import { Connector } from '../../../connector/connector.ts';
import { DynamoDbStreamSource } from '../../../connector/dynamodb/streams-source.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { baseConnectorOptions } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { SimulatedStream, simulatedRecords } from '../../harness/simulated-streams.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

test('the shards of a round are read at once, and each record is written once', async () => {
  const prefix = uniqueName('parallel');
  const stream = new SimulatedStream(
    `arn:aws:dynamodb:us-east-1:0:table/${prefix}/stream/2026-01-01T00:00:00.000`,
    ['a', 'b', 'c', 'd'].map((shard, index) => ({
      shardId: shard,
      closed: true,
      records: simulatedRecords(shard, index * 100, 30),
    })),
  );
  // GetRecords answers after a while, as AWS does; how many are waiting at once is counted.
  const client = stream.client();
  let waiting = 0;
  let mostWaiting = 0;
  const send = client.send.bind(client);
  client.send = (async (command: unknown) => {
    if (!(command instanceof GetRecordsCommand)) return send(command as never);
    mostWaiting = Math.max(mostWaiting, ++waiting);
    await new Promise((resolve) => setTimeout(resolve, 50));
    waiting--;
    return send(command as never);
  }) as typeof client.send;
  const source = new DynamoDbStreamSource(client, {
    table: 'orders',
    streamArn: stream.streamArn,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
  });
  const options = { ...baseConnectorOptions(prefix), sources: [source] };
  const connector = new Connector(options);
  const running = connector.start();
  const topic = `${prefix}.orders.order`;
  await waitForTopics(options.kafka, [topic]);
  const read = await readTopics(options.kafka, [topic], (messages) => messages.length >= 120, 20_000);
  await connector.stop();
  await running;
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const ids = await Promise.all(read.map(async ({ message }) => (await codec.decode(message.value!)).eventId));
  assert.equal(ids.length, 120);
  assert.equal(new Set(ids).size, 120);
  assert.equal(mostWaiting, 4, 'the four shards were waiting on GetRecords together');
});
