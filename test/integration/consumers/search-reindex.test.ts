import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import { waitForCaughtUp } from '../../../core/lag.ts';
import { defaultOrderView } from '../../../consumers/rollups/definition.ts';
import { SearchIndexes } from '../../../consumers/search/indexes.ts';
import { reindex } from '../../../consumers/search/reindex.ts';
import { searchSink, testGroup, testSearchConfig } from '../../harness/consumers.ts';
import { testEndpoints } from '../../harness/endpoints.ts';
import { startOrdersPipeline } from '../../harness/orders-pipeline.ts';
import { expectedOrders, scanTable, searchAll } from '../../harness/stores.ts';
import { readTopics } from '../../harness/topic-reader.ts';

test('reindex: a new index is built from a replay of the topic while changes flow, then the alias moves to it', async (t) => {
  const pipeline = await startOrdersPipeline('reidx', 31);
  const { dynamodb, table, workload, prefix, options, topic } = pipeline;
  const live = testGroup(prefix, 'search', [topic], searchSink(prefix));
  await live.start();
  t.after(async () => {
    await live.stop();
    await pipeline.stop();
  });
  for (let step = 0; step < 150; step++) await workload.step();

  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  const indexes = new SearchIndexes(client, testSearchConfig(prefix), { order: defaultOrderView });
  const groupId = `${prefix}-reindex`;
  const writing = (async () => {
    for (let step = 0; step < 100; step++) await workload.step();
  })();
  const moved = await reindex({
    entity: 'order',
    indexes,
    kafka: options.kafka,
    topics: [topic],
    groupId,
    group: (index) => testGroup(prefix, 'reindex', [topic], searchSink(prefix, index, groupId)),
    timeoutMs: 60_000,
  });
  await writing;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await waitForCaughtUp(options.kafka, [`${prefix}-search`], topic);

  assert.deepEqual(moved, { from: `${prefix}-order-v1`, to: `${prefix}-order-v2` });
  const aliases = await client.indices.getAlias({ name: `${prefix}-order` });
  assert.deepEqual(Object.keys(aliases.body), [`${prefix}-order-v2`]);
  // Changes made during the reindex reached the new index through the live group, after the swap.
  const expected = expectedOrders(await scanTable(dynamodb, table));
  const documents = await searchAll(`${prefix}-order`);
  assert.deepEqual(new Set(documents.keys()), new Set([...expected.keys()].map((key) => `${table}:${key}`)));
  for (const [key, fields] of expected) assert.equal(documents.get(`${table}:${key}`)?.status, fields.status, key);
  const dead = await readTopics(options.kafka, [options.topics.deadLetter], (messages) => messages.length > 0, 2_000);
  assert.deepEqual(dead, [], 'no document refused');
  await client.close();
});
