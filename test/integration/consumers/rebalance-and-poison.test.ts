import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type DailySalesRow } from '../../../cli/demo/workload.ts';
import { eventually, queryRows, rollupSink, testClickHouse, testGroup } from '../../harness/consumers.ts';
import { waitForCaughtUp } from '../../../core/lag.ts';
import { readTopics } from '../../harness/topic-reader.ts';
import { startOrdersPipeline } from '../../harness/orders-pipeline.ts';
import { idempotentProducer } from '../../harness/producer.ts';

test('rebalances between two members lose and double nothing; poison records go to the dead-letter topic with reason and origin', async (t) => {
  const pipeline = await startOrdersPipeline('reb', 11);
  const { dynamodb, table, workload, prefix, options, topic } = pipeline;
  const { clickhouse } = await testClickHouse();
  t.after(async () => {
    await pipeline.stop();
    await clickhouse.close();
  });

  // Two members of one group over the same ClickHouse: the second joins mid-stream, the first leaves.
  const first = testGroup(prefix, 'rollups', [topic], rollupSink(prefix, clickhouse));
  const second = testGroup(prefix, 'rollups', [topic], rollupSink(prefix, clickhouse));
  await first.start();
  for (let step = 0; step < 80; step++) await workload.step();
  await second.start();
  for (let step = 0; step < 80; step++) await workload.step();
  // Poison: an order whose total is not a number, and bytes that are not a change event.
  await dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        PK: { S: 'ORDER#bad' },
        SK: { S: 'ORDER#bad' },
        total: { S: 'ten euros' },
        created_at: { S: '2026-11-02T10:00:00Z' },
      },
    }),
  );
  const producer = idempotentProducer(options.kafka);
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'garbage', value: Buffer.from('not avro at all') }] });
  await producer.disconnect();
  await first.stop();
  for (let step = 0; step < 80; step++) await workload.step();
  await sleep(500);
  await waitForCaughtUp(options.kafka, [`${prefix}-rollups`], topic, 60_000);
  await second.stop();

  const dailySales = await eventually(
    () => queryRows<DailySalesRow>(clickhouse, 'SELECT day, category, order_count, revenue FROM daily_sales'),
    workload.expectedDailySales(),
    10_000,
  );
  assert.deepEqual(dailySales, workload.expectedDailySales());
  const dead = await readTopics(options.kafka, [options.topics.deadLetter], (messages) => messages.length > 2, 5_000);
  const reasons = dead.map(({ message }) => message.headers!.shardline_dlq_reason!.toString()).sort();
  assert.equal(dead.length, 2);
  assert.match(reasons[0]!, /^cannot decode/);
  assert.match(reasons[1]!, /^rollup daily_sales: total: .*not a decimal number; rollup user_totals: total: /);
  for (const { message } of dead) {
    assert.equal(message.headers!.shardline_dlq_source!.toString(), topic);
    assert.match(message.headers!.shardline_dlq_position!.toString(), /^\d+$/);
  }
});
