import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderEvent } from '../../../bench/orders.ts';
import { createOrdersTable } from '../../../cli/demo/workload.ts';
import { reindexEntity } from '../../../cli/commands/search.ts';
import { createDynamoDb } from '../../../core/aws.ts';
import { createKafka } from '../../../core/kafka.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { ChangeEventCodec } from '../../../schemas/registry.ts';
import { testAws } from '../../harness/connector.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { testPipelineConfig } from '../../harness/pipeline-config.ts';
import { idempotentProducer } from '../../harness/producer.ts';
import { searchAll } from '../../harness/stores.ts';

const endpoints = testEndpoints();
const itemKey = (index: number) => `PK=S:ORDER#${index}|SK=S:ORDER#${index}`;

/** A config reading `named` (when given) and every table matching `<prefix>-found-*`, with search documents. */
const reindexConfig = (prefix: string, named: string | undefined) =>
  testPipelineConfig(
    prefix,
    {
      tables: [
        ...(named ? [{ name: named, entities: ['order'] }] : []),
        { match: `${prefix}-found-*`, entities: ['order'] },
      ],
    },
    {
      search: {
        url: endpoints.opensearchUrl,
        indexPrefix: prefix,
        replicas: 0,
        documents: { order: { text: ['status'] } },
      },
    },
  );

/** One order change of `table` (item `index`) in the table's topic. */
async function writeOrder(prefix: string, table: string, index: number): Promise<void> {
  const topic = `${prefix}.${table}.order`;
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: prefix });
  await ensureTopics(kafka, [topic], 1);
  const codec = new ChangeEventCodec({ url: endpoints.registryUrl });
  const { key, event } = orderEvent(index);
  const producer = idempotentProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key, value: await codec.encode(topic, { ...event, table }) }] });
  } finally {
    await producer.disconnect();
  }
}

test(
  "search reindex replays the discovered tables' topics too: the alias moves to an index holding their documents",
  { timeout: 120_000 },
  async () => {
    const prefix = uniqueName('rdisc');
    const named = `${prefix}-named`;
    const found = `${prefix}-found-1`;
    const dynamodb = createDynamoDb(testAws());
    await createOrdersTable(dynamodb, found);
    dynamodb.destroy();
    await writeOrder(prefix, named, 1);
    await writeOrder(prefix, found, 2);

    await reindexEntity(reindexConfig(prefix, named), 'order', () => undefined);
    assert.deepEqual(
      [...(await searchAll(`${prefix}-order`)).keys()].sort(),
      [`${found}:${itemKey(2)}`, `${named}:${itemKey(1)}`].sort(),
    );

    // Rules only: the replay is of the discovered table, not of nothing.
    const moved = await reindexEntity(reindexConfig(prefix, undefined), 'order', () => undefined);
    assert.deepEqual(moved, { from: `${prefix}-order-v2`, to: `${prefix}-order-v3` });
    assert.deepEqual([...(await searchAll(`${prefix}-order`)).keys()], [`${found}:${itemKey(2)}`]);
  },
);
