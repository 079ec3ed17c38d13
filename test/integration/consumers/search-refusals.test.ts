import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import type { Rejection } from '../../../consumers/runtime/sink.ts';
import { canonicalKey, type ChangeEvent } from '../../../schemas/change-event.ts';
import { searchSink } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { searchAll } from '../../harness/stores.ts';

const order = (id: number): ChangeEvent => {
  const keys = { PK: { S: `ORDER#${id}` }, SK: { S: `ORDER#${id}` } };
  return {
    op: 'INSERT',
    eventId: `e-${id}`,
    table: 'orders',
    entity: 'order',
    version: String(100 + id),
    keys,
    before: null,
    after: {
      ...keys,
      total: { N: '10.00' },
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
      sequenceNumber: String(100 + id),
      approximateCreationTimeMicros: 1,
      userIdentity: null,
      ttlDelete: false,
    },
  };
};

test('a cluster that refuses every write (a write block) fails the batch for a retry; nothing is dead-lettered and nothing lost', async () => {
  const prefix = uniqueName('blocked');
  const sink = searchSink(prefix);
  await sink.open();
  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  const alias = `${prefix}-order`;
  const deadLettered: Rejection[] = [];
  const apply = (offset: number, event: ChangeEvent) =>
    sink.apply(
      {
        topic: 't',
        partition: 0,
        records: [{ offset: String(offset), key: canonicalKey(event.keys), event }],
        nextOffset: String(offset + 1),
      },
      async (rejections) => void deadLettered.push(...rejections),
    );

  await apply(0, order(1));
  await client.indices.putSettings({ index: alias, body: { 'index.blocks.write': true } });
  await assert.rejects(apply(1, order(2)), /OpenSearch refuses writes \(403 cluster_block_exception\)/);
  await client.indices.putSettings({ index: alias, body: { 'index.blocks.write': false } });
  await apply(1, order(2));

  assert.deepEqual(deadLettered, []);
  assert.deepEqual([...(await searchAll(alias)).keys()].sort(), [
    'orders:PK=S:ORDER#1|SK=S:ORDER#1',
    'orders:PK=S:ORDER#2|SK=S:ORDER#2',
  ]);
  await sink.close();
  await client.close();
});
