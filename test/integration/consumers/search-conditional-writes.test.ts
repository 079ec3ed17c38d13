import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import type { Rejection, SinkRecord } from '../../../consumers/runtime/sink.ts';
import { SearchSink } from '../../../consumers/search/search-sink.ts';
import { defaultOrderView } from '../../../consumers/rollups/definition.ts';
import { canonicalKey, type ChangeEvent } from '../../../schemas/change-event.ts';
import { testSearchConfig } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

const keysOf = (id: number) => ({ PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` } });
const change = (id: number, version: string, total: string | null): ChangeEvent => ({
  op: total === null ? 'REMOVE' : 'MODIFY',
  eventId: `e-${id}-${version}`,
  table: 'orders',
  entity: 'order',
  version,
  keys: keysOf(id),
  before: null,
  after:
    total === null
      ? null
      : {
          ...keysOf(id),
          total: { N: total },
          created_at: { S: '2026-11-01T10:00:00Z' },
          category: { S: 'books' },
          user_id: { S: 'USER#1' },
          status: { S: 'new' },
        },
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
const docId = (id: number) => `orders:${canonicalKey(keysOf(id))}`;

/** A sink whose client lets a test write between the sink's read of the documents and its bulk request. */
function sinkWithInterleaving(prefix: string, between: () => Promise<void>): SearchSink {
  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  const mget = client.mget.bind(client);
  client.mget = (async (...args: Parameters<typeof mget>) => {
    const answer = await mget(...args);
    // After the read of the documents' versions (not of the sweeps, which is by ids).
    if ((args[0] as { body?: { docs?: unknown } }).body?.docs) await between();
    return answer;
  }) as unknown as typeof client.mget;
  return new SearchSink({
    group: `${prefix}-search`,
    client,
    config: testSearchConfig(prefix),
    views: { order: defaultOrderView },
    itemBackoff: { baseMs: 50, maxMs: 500, attempts: 10 },
  });
}

let offset = 0;
async function apply(sink: SearchSink, ...events: ChangeEvent[]): Promise<Rejection[]> {
  const rejections: Rejection[] = [];
  const records: SinkRecord[] = events.map((event) => ({
    offset: String(offset++),
    key: canonicalKey(event.keys),
    event,
  }));
  await sink.apply(
    { topic: 't', partition: 0, records, nextOffset: String(offset) },
    async (found) => void rejections.push(...found),
  );
  return rejections;
}

/** The document as stored, tombstones included (searches through the alias leave those out). */
const state = async (alias: string, id: number) => {
  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  const response = await client.get({ index: alias, id: docId(id) }).catch(() => undefined);
  await client.close();
  const doc = response?.body._source as Record<string, unknown> | undefined;
  return doc && { version: doc.shardline_version, deleted: doc.shardline_deleted, total: doc.total };
};

test('the newest version of a document wins, however changes are replayed, reordered or repeated within a batch', async () => {
  const prefix = uniqueName('cas');
  const sink = sinkWithInterleaving(prefix, async () => {});
  await sink.open();
  const alias = `${prefix}-order`;

  assert.deepEqual(
    await apply(
      sink,
      change(1, '20', '2.00'),
      change(2, '10', '1.00'),
      change(2, '30', '3.00'),
      change(3, '30', '3.00'),
      change(3, '10', '1.00'),
    ),
    [],
  );
  assert.deepEqual(await state(alias, 1), { version: '20', deleted: false, total: '2.00' });
  assert.deepEqual(await state(alias, 2), { version: '30', deleted: false, total: '3.00' });
  assert.deepEqual(await state(alias, 3), { version: '30', deleted: false, total: '3.00' });

  // Replays of older and equal versions change nothing; a newer one replaces; a delete leaves a tombstone no replay revives.
  await apply(sink, change(1, '10', '1.00'), change(1, '20', '9.99'), change(2, '100', '4.00'), change(3, '40', null));
  await apply(sink, change(3, '30', '3.00'), change(3, '9', '0.90'));
  assert.deepEqual(await state(alias, 1), { version: '20', deleted: false, total: '2.00' });
  assert.deepEqual(await state(alias, 2), { version: '100', deleted: false, total: '4.00' });
  assert.deepEqual(await state(alias, 3), { version: '40', deleted: true, total: undefined });
  await sink.close();
});

test('a document written between the read of its version and the conditional write is compared again by the script', async () => {
  const prefix = uniqueName('cas');
  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  const alias = `${prefix}-order`;
  let concurrent: ChangeEvent[] = [];
  const other = sinkWithInterleaving(prefix, async () => {});
  const sink = sinkWithInterleaving(prefix, async () => {
    // Another member of the group (after a rebalance) writes the same items meanwhile.
    const writes = concurrent;
    concurrent = [];
    if (writes.length > 0) await apply(other, ...writes);
  });
  await sink.open();
  await other.open();
  await apply(sink, change(1, '10', '1.00'), change(2, '10', '1.00'));

  // A newer write meanwhile: ours (older) must not replace it; an older write meanwhile: ours still wins; a create meanwhile too.
  concurrent = [change(1, '50', '5.00'), change(2, '15', '1.50'), change(4, '70', '7.00')];
  assert.deepEqual(await apply(sink, change(1, '20', '2.00'), change(2, '20', '2.00'), change(4, '60', '6.00')), []);
  assert.deepEqual(await state(alias, 1), { version: '50', deleted: false, total: '5.00' });
  assert.deepEqual(await state(alias, 2), { version: '20', deleted: false, total: '2.00' });
  assert.deepEqual(await state(alias, 4), { version: '70', deleted: false, total: '7.00' });
  assert.deepEqual(concurrent, [], 'the concurrent writes were made');
  await sink.close();
  await other.close();
  await client.close();
});

test('an INSERT, whose document is not read before it is written, never replaces a newer document nor revives an older tombstone', async () => {
  const prefix = uniqueName('cas');
  const sink = sinkWithInterleaving(prefix, async () => {});
  await sink.open();
  const alias = `${prefix}-order`;
  const inserted = (id: number, version: string, total: string): ChangeEvent => ({
    ...change(id, version, total),
    op: 'INSERT',
  });

  assert.deepEqual(
    await apply(
      sink,
      inserted(1, '10', '1.00'),
      inserted(2, '10', '1.00'),
      change(3, '30', null),
      inserted(4, '10', '1.00'),
      inserted(4, '20', '2.00'),
    ),
    [],
  );
  // Replayed INSERTs (older, equal) change nothing; over a tombstone only a newer one (the item made again) counts.
  assert.deepEqual(
    await apply(
      sink,
      inserted(1, '10', '9.99'),
      inserted(2, '5', '0.50'),
      inserted(3, '20', '2.00'),
      inserted(4, '15', '1.50'),
    ),
    [],
  );
  assert.deepEqual(await state(alias, 1), { version: '10', deleted: false, total: '1.00' });
  assert.deepEqual(await state(alias, 2), { version: '10', deleted: false, total: '1.00' });
  assert.deepEqual(await state(alias, 3), { version: '30', deleted: true, total: undefined });
  assert.deepEqual(await state(alias, 4), { version: '20', deleted: false, total: '2.00' });
  await apply(sink, inserted(3, '40', '4.00'), inserted(1, '50', '5.00'));
  assert.deepEqual(await state(alias, 3), { version: '40', deleted: false, total: '4.00' });
  assert.deepEqual(await state(alias, 1), { version: '50', deleted: false, total: '5.00' });
  await sink.close();
});

type BulkAnswer = { body: { items: unknown[] } };

/** A sink whose client's bulk requests go through `around`, which makes the real request with `send`. */
function sinkAroundBulk(
  prefix: string,
  around: (request: { body: unknown }, send: () => Promise<BulkAnswer>) => Promise<BulkAnswer>,
  maxBulkBytes?: number,
): { sink: SearchSink; client: OpenSearchClient } {
  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  const bulk = client.bulk.bind(client) as unknown as (request: { body: unknown }) => Promise<BulkAnswer>;
  client.bulk = ((request: { body: unknown }) => around(request, () => bulk(request))) as unknown as typeof client.bulk;
  const sink = new SearchSink({
    group: `${prefix}-search`,
    client,
    config: testSearchConfig(prefix),
    views: { order: defaultOrderView },
    itemBackoff: { baseMs: 50, maxMs: 500, attempts: 10 },
    maxBulkBytes,
  });
  return { sink, client };
}

test('a batch larger than one bulk request may carry is written in several, every document once', async () => {
  const prefix = uniqueName('bulkbytes');
  const requestBytes: number[] = [];
  const { sink, client } = sinkAroundBulk(
    prefix,
    (request, send) => {
      requestBytes.push(Buffer.byteLength(String(request.body)));
      return send();
    },
    4_096,
  );
  await sink.open();
  const ids = Array.from({ length: 40 }, (_, index) => 1_000 + index);
  assert.deepEqual(await apply(sink, ...ids.map((id) => change(id, '7', `${id}.25`))), []);
  // About 400 bytes a document: 16 KB in requests of at most 4 KB.
  assert.ok(requestBytes.length >= 4, `${requestBytes.length} requests for 40 documents`);
  assert.ok(
    requestBytes.every((bytes) => bytes <= 4_096),
    `requests of ${requestBytes.join(', ')} bytes`,
  );
  for (const id of ids)
    assert.deepEqual(await state(`${prefix}-order`, id), { version: '7', deleted: false, total: `${id}.25` });
  await sink.close();
  await client.close();
});

test('a bulk answer that does not name every item fails the batch, and its retry writes every document once', async () => {
  const prefix = uniqueName('bulkshort');
  let shortenNext = true;
  const { sink, client } = sinkAroundBulk(prefix, async (_request, send) => {
    const answer = await send();
    // The write happened; the answer loses its last item, as a proxy or a filter that drops it would.
    if (shortenNext) answer.body.items.pop();
    shortenNext = false;
    return answer;
  });
  await sink.open();
  const events = [1, 2, 3].map((id) => change(id, '9', `${id}.50`));
  await assert.rejects(apply(sink, ...events), /answered 2 of the 3 items/);
  // The runtime applies the batch again: the documents written the first time are compared, not doubled.
  assert.deepEqual(await apply(sink, ...events), []);
  for (const id of [1, 2, 3])
    assert.deepEqual(await state(`${prefix}-order`, id), { version: '9', deleted: false, total: `${id}.50` });
  await sink.close();
  await client.close();
});
