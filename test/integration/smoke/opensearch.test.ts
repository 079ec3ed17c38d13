import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@opensearch-project/opensearch';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

test('OpenSearch: mapping, index, search, and a versioned write conflict', async () => {
  const client = new Client({ node: testEndpoints().opensearchUrl });
  const index = uniqueName('smoke');
  await client.indices.create({
    index,
    body: {
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: { properties: { title: { type: 'text' }, total: { type: 'scaled_float', scaling_factor: 100 } } },
    },
  });
  await client.index({
    index,
    id: 'ORDER#1',
    body: { title: 'blue running shoes', total: 59.9 },
    version: 5,
    version_type: 'external',
    refresh: true,
  });

  const found = await client.search({ index, body: { query: { match: { title: 'shoes' } } } });
  assert.equal(found.body.hits.hits.length, 1);
  assert.equal(found.body.hits.hits[0]?._id, 'ORDER#1');

  // An older version arriving late is refused with 409, and the newer document stays.
  await assert.rejects(
    client.index({ index, id: 'ORDER#1', body: { title: 'stale', total: 1 }, version: 4, version_type: 'external' }),
    (error: { meta?: { statusCode?: number } }) => error.meta?.statusCode === 409,
  );
  const current = await client.get({ index, id: 'ORDER#1' });
  assert.equal(current.body._version, 5);
  assert.equal((current.body._source as { title: string }).title, 'blue running shoes');
  await client.indices.delete({ index });
  await client.close();
});
