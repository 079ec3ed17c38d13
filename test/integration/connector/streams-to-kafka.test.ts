import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDb } from '../../../core/aws.ts';
import type { ChangeEvent } from '../../../schemas/change-event.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { Connector, createStreamTable, testAws, testConnectorOptions } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { readTopics, waitForTopics } from '../../harness/topic-reader.ts';

let dynamodb: DynamoDBClient;
before(() => {
  dynamodb = createDynamoDb(testAws());
});
after(() => dynamodb.destroy());

const tricky = {
  PK: { S: 'ORDER#ünïcødé-🚀' },
  SK: { S: 'ORDER#ünïcødé-🚀' },
  big: { N: '12345678901234567890123456789012345678' },
  tiny: { N: '-0.00000000000000000000000000000000000001' },
  money: { N: '19.990' },
  raw: { B: new Uint8Array([0, 1, 2, 254, 255]) },
  blobs: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] },
  tags: { SS: ['a', 'b'] },
  scores: { NS: ['1', '2.5', '99999999999999999999999999999999999999'] },
  nothing: { NULL: true },
  flag: { BOOL: false },
  nested: { M: { list: { L: [{ S: 'x' }, { N: '1' }, { M: { deep: { BOOL: true } } }] }, empty: { M: {} } } },
};

test('puts, updates and deletes arrive once, in per-key order, decodable, with images byte for byte', async () => {
  const prefix = uniqueName('conn');
  const table = await createStreamTable(dynamodb);
  const options = await testConnectorOptions(table, prefix);
  const connector = new Connector(options);
  const running = connector.start();

  const put = (Item: Record<string, unknown>) =>
    dynamodb.send(new PutItemCommand({ TableName: table, Item: Item as never }));
  const key = (id: string) => ({ PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` } });
  await put(tricky);
  for (let index = 0; index < 10; index++)
    await put({ ...key(String(index)), total: { N: `${index}.50` }, status: { S: 'new' } });
  for (let index = 0; index < 10; index += 2) {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key(String(index)),
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'paid' } },
      }),
    );
  }
  for (let index = 0; index < 10; index += 3)
    await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: key(String(index)) }));
  await put({ PK: { S: 'USER#1' }, SK: { S: 'PROFILE' }, name: { S: 'Ada' } });
  const expected = 1 + 10 + 5 + 4 + 1;

  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const topics = [`${prefix}.${table}.order`, `${prefix}.${table}.user`];
  await waitForTopics(options.kafka, topics);
  const read = await readTopics(options.kafka, topics, (messages) => messages.length >= expected);
  // Give any duplicate the time to arrive before counting.
  const settled = await readTopics(options.kafka, topics, (messages) => messages.length > expected, 3_000);
  await connector.stop();
  await running;

  assert.equal(read.length, expected);
  assert.equal(settled.length, expected, 'no change written twice');
  const events: ChangeEvent[] = await Promise.all(read.map(({ message }) => codec.decode(message.value!)));
  assert.equal(new Set(events.map((event) => event.eventId)).size, expected);
  assert.deepEqual(new Set(read.map(({ topic }) => topic)), new Set(topics));

  // Per item: one partition, versions increasing, operations in the order they happened.
  const byKey = new Map<string, { partitions: Set<number>; ops: string[]; versions: bigint[] }>();
  read.forEach(({ partition, message }, index) => {
    const entry = byKey.get(message.key!.toString()) ?? { partitions: new Set(), ops: [], versions: [] };
    entry.partitions.add(partition);
    entry.ops.push(events[index]!.op);
    entry.versions.push(BigInt(events[index]!.version));
    byKey.set(message.key!.toString(), entry);
  });
  for (const [itemKey, entry] of byKey) {
    assert.equal(entry.partitions.size, 1, `${itemKey} stays on one partition`);
    assert.deepEqual(
      entry.versions,
      [...entry.versions].sort((a, b) => (a < b ? -1 : 1)),
      `${itemKey} in version order`,
    );
  }
  assert.deepEqual(byKey.get('PK=S:ORDER#0|SK=S:ORDER#0')?.ops, ['INSERT', 'MODIFY', 'REMOVE']);
  assert.deepEqual(byKey.get('PK=S:ORDER#1|SK=S:ORDER#1')?.ops, ['INSERT']);

  const trickyEvent = events.find((event) => event.keys.PK?.S === tricky.PK.S)!;
  assert.equal(trickyEvent.entity, 'order');
  assert.deepEqual(trickyEvent.after, {
    ...tricky,
    raw: { B: Buffer.from(tricky.raw.B) },
    blobs: { BS: tricky.blobs.BS.map((bytes) => Buffer.from(bytes)) },
  });
  const removal = events.find((event) => event.op === 'REMOVE' && event.keys.PK?.S === 'ORDER#0')!;
  assert.equal(removal.after, null);
  assert.equal(removal.before?.status?.S, 'paid');
  const headers = read.find(({ message }) => message.key!.toString() === 'PK=S:ORDER#0|SK=S:ORDER#0')!.message.headers!;
  assert.equal(headers.ce_type?.toString(), 'order.created');
});
