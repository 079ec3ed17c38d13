import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { createKinesis } from '../../../core/aws.ts';
import { Connector } from '../../../connector/connector.ts';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { baseConnectorOptions, testAws } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { kinesisChangeRecord } from '../../harness/kinesis-records.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

test('Kinesis Data Streams for DynamoDB: duplicates removed, creation-time-then-sequence versions, binary decoded, TTL deletes marked', async () => {
  const kinesis = createKinesis(testAws());
  const StreamName = uniqueName('kds');
  await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 2 }));
  while (
    (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary?.StreamStatus !==
    'ACTIVE'
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const table = 'orders';
  const key = (id: number) => ({ PK: { S: `ORDER#${id}` }, SK: { S: 'ORDER' } });
  const put = (data: Buffer, partitionKey: string) =>
    kinesis.send(new PutRecordCommand({ StreamName, PartitionKey: partitionKey, Data: data }));
  const base = 1_764_000_000_000_000;
  const insert = kinesisChangeRecord({
    table,
    eventName: 'INSERT',
    keys: key(1),
    newImage: { ...key(1), blob: { B: Buffer.from([9, 8, 7]).toString('base64') } },
    creationTimeMicros: base + 1,
    eventId: 'insert-1',
  });
  await put(insert, 'ORDER#1');
  await put(insert, 'ORDER#1'); // the duplicate Kinesis may deliver
  // Out of order: the newer MODIFY arrives before the older one.
  await put(
    kinesisChangeRecord({
      table,
      eventName: 'MODIFY',
      keys: key(1),
      newImage: key(1),
      oldImage: key(1),
      creationTimeMicros: base + 300,
    }),
    'ORDER#1',
  );
  await put(
    kinesisChangeRecord({
      table,
      eventName: 'MODIFY',
      keys: key(1),
      newImage: key(1),
      oldImage: key(1),
      creationTimeMicros: base + 200,
    }),
    'ORDER#1',
  );
  await put(
    kinesisChangeRecord({
      table,
      eventName: 'REMOVE',
      keys: key(2),
      oldImage: key(2),
      creationTimeMicros: base + 400,
      ttl: true,
    }),
    'ORDER#2',
  );
  await put(Buffer.from('{"not": "a change"'), 'ORDER#3');

  const prefix = uniqueName('kin');
  const options = {
    ...baseConnectorOptions(prefix),
    sources: [
      new KinesisSource(kinesis, {
        table,
        streamName: StreamName,
        region: 'us-east-1',
        entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' } as const,
      }),
    ],
  };
  const connector = new Connector(options);
  const running = connector.start();
  const topic = `${prefix}.orders.order`;
  await waitForTopics(options.kafka, [topic, options.topics.deadLetter]);
  const read = await readTopics(options.kafka, [topic], (messages) => messages.length >= 4);
  const extra = await readTopics(options.kafka, [topic], (messages) => messages.length > 4, 3_000);
  const dead = await readTopics(options.kafka, [options.topics.deadLetter], (messages) => messages.length >= 1);
  await connector.stop();
  await running;

  assert.equal(extra.length, 4, 'the duplicate was removed');
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const events = await Promise.all(read.map(({ message }) => codec.decode(message.value!)));
  const inserted = events.find((event) => event.eventId === 'insert-1')!;
  assert.deepEqual(inserted.after?.blob, { B: Buffer.from([9, 8, 7]) });
  // Creation time, then the sequence number (60 digits) that orders changes sharing a creation time.
  assert.match(inserted.version, new RegExp(`^${base + 1}\\d{60}$`));
  assert.equal(inserted.source.kind, 'KINESIS');
  assert.deepEqual(
    events
      .filter((event) => event.op === 'MODIFY')
      .map((event) => event.version.slice(0, -60))
      .sort(),
    [String(base + 200), String(base + 300)],
  );
  assert.equal(events.find((event) => event.op === 'REMOVE')?.source.ttlDelete, true);
  assert.equal(dead.length, 1);
  assert.match(dead[0]!.message.headers!.shardline_dlq_reason!.toString(), /not a Kinesis DynamoDB record/);
  assert.equal(dead[0]!.message.headers!.shardline_dlq_source!.toString(), StreamName);
  kinesis.destroy();
});
