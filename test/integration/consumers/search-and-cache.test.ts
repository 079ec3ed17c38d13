import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics } from '../../../core/topics.ts';
import type { ChangeEvent } from '../../../schemas/change-event.ts';
import { canonicalKey } from '../../../schemas/change-event.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { cacheSink, searchSink, testGroup } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { waitForCaughtUp } from '../../../core/lag.ts';
import { cachedItems, expectedOrders, scanTable, searchAll } from '../../harness/stores.ts';
import { startOrdersPipeline } from '../../harness/orders-pipeline.ts';
import { normalizeDecimal } from '../../../schemas/decimal.ts';
import { idempotentProducer } from '../../harness/producer.ts';

test('the search index and the cache equal the table after a workload of puts, updates and deletes', async (t) => {
  const pipeline = await startOrdersPipeline('sc', 5);
  const { dynamodb, table, workload, prefix, options, topic } = pipeline;
  const groups = [
    testGroup(prefix, 'search', [topic], searchSink(prefix)),
    testGroup(prefix, 'cache', [topic], cacheSink(prefix)),
  ];
  await Promise.all(groups.map((group) => group.start()));
  t.after(async () => {
    await pipeline.stop();
    await Promise.all(groups.map((group) => group.stop()));
  });
  for (let step = 0; step < 300; step++) await workload.step();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await waitForCaughtUp(options.kafka, [`${prefix}-search`, `${prefix}-cache`], topic);

  const expected = expectedOrders(await scanTable(dynamodb, table));
  const documents = await searchAll(`${prefix}-order`);
  assert.equal(documents.size, expected.size);
  for (const [key, fields] of expected) {
    const document = documents.get(`${table}:${key}`);
    assert.ok(document, `${key} is searchable`);
    assert.deepEqual(
      { category: document.category, status: document.status, total: document.total, user_id: document.user_id },
      fields,
    );
  }
  const cached = await cachedItems(prefix);
  const live = [...cached].filter(([, hash]) => hash.doc !== undefined);
  assert.equal(live.length, expected.size);
  for (const [key, fields] of expected) {
    const doc = JSON.parse(cached.get(`${prefix}:{${table}}:${key}`)!.doc!) as Record<string, unknown>;
    assert.deepEqual(
      {
        category: doc.category,
        status: doc.status,
        total: normalizeDecimal(String(doc.total), 2),
        user_id: doc.user_id,
      },
      fields,
    );
  }
  // Deleted orders are tombstones in the cache, never documents.
  assert.ok([...cached.values()].filter((hash) => hash.deleted === '1').every((hash) => hash.doc === undefined));
});

test('duplicates and out-of-order deliveries end at the newest version; a late replay after a delete leaves it deleted', async (t) => {
  const prefix = uniqueName('ooo');
  const topic = `${prefix}.orders.order`;
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers });
  await ensureTopics(kafka, [topic]);
  const codec = new ChangeEventCodec({ url: testEndpoints().registryUrl });
  const keys = { PK: { S: 'ORDER#1' }, SK: { S: 'ORDER#1' } };
  const image = (status: string) => ({
    ...keys,
    total: { N: '10.00' },
    created_at: { S: '2026-11-01T10:00:00Z' },
    category: { S: 'books' },
    user_id: { S: 'USER#1' },
    status: { S: status },
  });
  const event = (op: ChangeEvent['op'], version: string, status: string | null): ChangeEvent => ({
    op,
    eventId: `e-${version}`,
    table: 'orders',
    entity: 'order',
    version,
    keys,
    before: null,
    after: status ? image(status) : null,
    source: {
      kind: 'DYNAMODB_STREAMS',
      region: 'us-east-1',
      table: 'orders',
      stream: 's',
      shardId: 'sh',
      sequenceNumber: version,
      approximateCreationTimeMicros: 1,
      userIdentity: null,
      ttlDelete: false,
    },
  });
  const producer = idempotentProducer(kafka);
  await producer.connect();
  const send = async (events: ChangeEvent[]) =>
    producer.send({
      topic,
      messages: await Promise.all(
        events.map(async (item) => ({ key: canonicalKey(keys), value: await codec.encode(topic, item) })),
      ),
    });

  const groups = [
    testGroup(prefix, 'search', [topic], searchSink(prefix)),
    testGroup(prefix, 'cache', [topic], cacheSink(prefix)),
  ];
  await Promise.all(groups.map((group) => group.start()));
  t.after(async () => {
    await producer.disconnect();
    await Promise.all(groups.map((group) => group.stop()));
  });
  const v = (n: number) => `1000000000000000000000000000000${n}`; // 33 digits: past any 64-bit version
  // The newest first, then older ones late, then a duplicate.
  await send([
    event('INSERT', v(10), 'new'),
    event('MODIFY', v(30), 'shipped'),
    event('MODIFY', v(20), 'paid'),
    event('MODIFY', v(30), 'shipped'),
    event('INSERT', v(10), 'new'),
  ]);
  await waitForCaughtUp(kafka, [`${prefix}-search`, `${prefix}-cache`], topic);
  assert.equal((await searchAll(`${prefix}-order`)).get('orders:PK=S:ORDER#1|SK=S:ORDER#1')?.status, 'shipped');
  const cacheKey = `${prefix}:{orders}:PK=S:ORDER#1|SK=S:ORDER#1`;
  assert.equal(JSON.parse((await cachedItems(prefix)).get(cacheKey)!.doc!).status, 'shipped');

  // Deleted, then an older write replayed late, and a snapshot row (version 0).
  await send([event('REMOVE', v(40), null), event('MODIFY', v(35), 'delivered'), event('SNAPSHOT', '0', 'new')]);
  await waitForCaughtUp(kafka, [`${prefix}-search`, `${prefix}-cache`], topic);
  assert.equal((await searchAll(`${prefix}-order`)).size, 0, 'not searchable');
  assert.deepEqual(await cachedItems(prefix).then((items) => items.get(cacheKey)), { v: v(40), deleted: '1' });
});
