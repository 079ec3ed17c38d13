import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../../core/aws.ts';
import { CacheSink } from '../../../consumers/cache/cache-sink.ts';
import { canonicalKey, type ChangeEvent } from '../../../schemas/change-event.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { Connector, createStreamTable, testAws, testConnectorOptions } from '../../harness/connector.ts';
import { cacheSink, eventually, testGroup } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { cachedItems } from '../../harness/stores.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

test("a table dropped and created again under its name: its new stream's changes replace the old ones in the cache, though the stream numbers its records from the start again", async (t) => {
  const dynamodb = createDynamoDb(testAws());
  t.after(() => dynamodb.destroy());
  const prefix = uniqueName('recreate');
  const table = await createStreamTable(dynamodb);
  const keys = { PK: { S: 'ORDER#1' }, SK: { S: 'ORDER#1' } };
  const put = (total: string) =>
    dynamodb.send(new PutItemCommand({ TableName: table, Item: { ...keys, total: { N: total } } }));
  const topic = `${prefix}.${table}.order`;
  // One connector per incarnation, as a restart after the table was made again would find its new stream.
  const carry = async (written: () => Promise<void>, expected: number) => {
    const options = await testConnectorOptions(table, prefix);
    const connector = new Connector(options);
    const running = connector.start();
    await written();
    await waitForTopics(options.kafka, [topic]);
    const read = await readTopics(options.kafka, [topic], (messages) => messages.length >= expected);
    await connector.stop();
    await running;
    return { read, kafka: options.kafka };
  };
  await carry(async () => {
    for (const total of ['1.00', '2.00', '3.00']) await put(total);
  }, 3);
  await dynamodb.send(new DeleteTableCommand({ TableName: table }));
  await createStreamTable(dynamodb, table);
  const { read } = await carry(() => put('10.00').then(() => undefined), 4);

  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const events: ChangeEvent[] = await Promise.all(read.map(({ message }) => codec.decode(message.value!)));
  const [first, , third, again] = events;
  // The premise: the new stream's sequence numbers are no higher than the old one's (moto starts again).
  assert.ok(BigInt(again!.source.sequenceNumber) <= BigInt(third!.source.sequenceNumber));
  assert.notEqual(again!.source.stream, first!.source.stream);

  const group = testGroup(prefix, 'cache', [topic], cacheSink(prefix));
  await group.start();
  t.after(() => group.stop());
  const itemKey = CacheSink.itemKey(prefix, table, canonicalKey(keys));
  const total = async () => {
    const doc = (await cachedItems(prefix)).get(itemKey)?.doc;
    return doc === undefined ? undefined : (JSON.parse(doc) as { total: string }).total;
  };
  assert.equal(await eventually(total, '10.00'), '10.00', 'the item as the table made again holds it');
});
