import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import { ConfigurationError } from '../../../core/errors.ts';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { defaultOrderView } from '../../../consumers/rollups/definition.ts';
import { SearchIndexes } from '../../../consumers/search/indexes.ts';
import { reindex } from '../../../consumers/search/reindex.ts';
import { testGroup, testSearchConfig } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { idempotentProducer } from '../../harness/producer.ts';

test('reindex stops with the replay group when the group stops on a fatal error, instead of waiting out its timeout', async (t) => {
  const prefix = uniqueName('reidx-fatal');
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: prefix });
  const topic = `${prefix}.orders.order`;
  await ensureTopics(kafka, [topic], 1);
  const producer = idempotentProducer(kafka);
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'a', value: 'x' }] });
  await producer.disconnect();

  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  t.after(() => client.close());
  const indexes = new SearchIndexes(client, testSearchConfig(prefix), { order: defaultOrderView });
  // A sink whose store refuses the group for good when it meets the partition (as a misconfigured store does).
  const refusing = {
    name: 'search',
    open: async () => undefined,
    progress: async (): Promise<string | undefined> => {
      throw new ConfigurationError('the replay target refuses this group');
    },
    apply: async () => undefined,
    close: async () => undefined,
  };
  await assert.rejects(
    reindex({
      entity: 'order',
      indexes,
      kafka,
      topics: [topic],
      groupId: `${prefix}-reindex`,
      group: () => testGroup(prefix, 'reindex', [topic], refusing),
      timeoutMs: 30_000,
    }),
    /the replay target refuses this group/,
  );
  const aliases = await client.indices.getAlias({ name: `${prefix}-order` });
  assert.deepEqual(Object.keys(aliases.body), [`${prefix}-order-v1`], 'the alias stays on the index it was on');
});
