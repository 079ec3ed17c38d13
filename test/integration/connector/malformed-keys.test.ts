import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { createKinesis } from '../../../core/aws.ts';
import { Connector } from '../../../connector/connector.ts';
import { KinesisSource } from '../../../connector/kinesis/kinesis-source.ts';
import type { EntityRule } from '../../../connector/events/entity.ts';
import { baseConnectorOptions, testAws } from '../../harness/connector.ts';
import { uniqueName } from '../../harness/endpoints.ts';
import { kinesisChangeRecord } from '../../harness/kinesis-records.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

test('malformed keys go to the dead-letter topic with their reason and position while the other changes flow', async () => {
  const kinesis = createKinesis(testAws());
  const StreamName = uniqueName('kds-keys');
  await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
  while (
    (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary?.StreamStatus !==
    'ACTIVE'
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const table = 'orders';
  let time = 1_764_000_000_000_000;
  const put = async (keys: Record<string, unknown>, eventId: string): Promise<string> => {
    const data = kinesisChangeRecord({
      table,
      eventName: 'INSERT',
      keys,
      newImage: keys,
      creationTimeMicros: time++,
      eventId,
    });
    return (await kinesis.send(new PutRecordCommand({ StreamName, PartitionKey: eventId, Data: data })))
      .SequenceNumber!;
  };
  await put({ PK: { S: 'ORDER#1' }, SK: { S: 'ORDER' } }, 'good-1');
  const bad = {
    boolKey: await put({ PK: { S: 'ORDER#2' }, SK: { BOOL: true } }, 'bool-key'),
    noSeparator: await put({ PK: { S: 'plain' }, SK: { S: 'ORDER' } }, 'no-separator'),
    undeclared: await put({ PK: { S: 'INVOICE#3' }, SK: { S: 'INVOICE' } }, 'undeclared'),
  };
  await put({ PK: { S: 'ORDER#4' }, SK: { S: 'ORDER' } }, 'good-4');

  const prefix = uniqueName('keys');
  const entityRule: EntityRule = { kind: 'key-prefix', attribute: 'PK', separator: '#', declared: ['order'] };
  const options = {
    ...baseConnectorOptions(prefix),
    sources: [new KinesisSource(kinesis, { table, streamName: StreamName, region: 'us-east-1', entityRule })],
  };
  const connector = new Connector(options);
  const running = connector.start();
  const topic = `${prefix}.orders.order`;
  let good, dead;
  try {
    await waitForTopics(options.kafka, [topic, options.topics.deadLetter], 20_000);
    good = await readTopics(options.kafka, [topic], (messages) => messages.length >= 2, 20_000);
    dead = await readTopics(options.kafka, [options.topics.deadLetter], (messages) => messages.length >= 3, 10_000);
  } finally {
    await connector.stop();
    await running.catch(() => undefined);
    kinesis.destroy();
  }

  assert.equal(good.length, 2, 'the well-formed changes flow');
  const reasons = new Map(
    dead.map(({ message }) => [
      message.headers!.shardline_dlq_position!.toString(),
      message.headers!.shardline_dlq_reason!.toString(),
    ]),
  );
  assert.match(reasons.get(bad.boolKey) ?? 'missing', /key attribute SK must be S, N or B, found BOOL/);
  assert.match(reasons.get(bad.noSeparator) ?? 'missing', /PK "plain" has no "#"/);
  assert.match(reasons.get(bad.undeclared) ?? 'missing', /entity "invoice" is not one of the declared entities/);
  assert.equal(dead.length, 3);
});
