import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { defaultOrderView } from '../../../consumers/rollups/definition.ts';
import { SearchIndexes } from '../../../consumers/search/indexes.ts';
import { reindex } from '../../../consumers/search/reindex.ts';
import { testSearchConfig } from '../../harness/consumers.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { idempotentProducer } from '../../harness/producer.ts';

test('reindex refuses to swap the alias when a source topic no longer starts at offset 0, naming the topic', async (t) => {
  const prefix = uniqueName('partial');
  const kafka = createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: prefix });
  const whole = `${prefix}.orders.order`;
  const trimmed = `${prefix}.returns.order`;
  await ensureTopics(kafka, [whole, trimmed], 1);
  const producer = idempotentProducer(kafka);
  await producer.connect();
  await producer.send({
    topic: trimmed,
    messages: [
      { key: 'a', value: 'x' },
      { key: 'b', value: 'y' },
      { key: 'c', value: 'z' },
    ],
  });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.fetchTopicMetadata({ topics: [trimmed] }); // deleteTopicRecords needs the partition leaders
    await admin.deleteTopicRecords({ topic: trimmed, partitions: [{ partition: 0, offset: '2' }] });
  } finally {
    await admin.disconnect();
  }

  const client = new OpenSearchClient({ node: testEndpoints().opensearchUrl });
  const indexes = new SearchIndexes(client, testSearchConfig(prefix), { order: defaultOrderView });
  let replays = 0;
  const plan = {
    entity: 'order',
    indexes,
    kafka,
    topics: [whole, trimmed],
    groupId: `${prefix}-reindex`,
    timeoutMs: 10_000,
    group: () => {
      replays++;
      throw new Error('the replay must not start');
    },
  };
  t.after(() => client.close());
  await assert.rejects(
    reindex(plan),
    /topic .*returns\.order.* no longer starts at offset 0 \(partition 0 starts at 2\).*--allow-partial/,
  );
  assert.equal(replays, 0, 'refused before building anything');
  // With --allow-partial the replay starts (and here fails, which shows it got that far).
  await assert.rejects(reindex({ ...plan, allowPartial: true }), /the replay must not start/);
  assert.equal(replays, 1);
});
