import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDynamoDb } from '../../../core/aws.ts';
import { ensureTopics } from '../../../core/topics.ts';
import { Connector } from '../../../connector/connector.ts';
import { SnapshotSource } from '../../../connector/snapshot/snapshot-source.ts';
import { OrdersWorkload, type DailySalesRow, type UserTotalsRow } from '../../../cli/demo/workload.ts';
import { createStreamTable, streamEventIds, testAws, testConnectorOptions } from '../../harness/connector.ts';
import { auditSink, eventually, queryRows, rollupSink, testClickHouse, testGroup } from '../../harness/consumers.ts';
import { uniqueName } from '../../harness/endpoints.ts';

test('a scripted workload with a snapshot overlapping the stream produces exactly the independently computed rollups and one audit entry per change', async () => {
  const dynamodb = createDynamoDb(testAws());
  const table = await createStreamTable(dynamodb);
  const workload = new OrdersWorkload(dynamodb, table, 42);
  // Orders that exist before the pipeline starts reach it twice: from the snapshot and from the stream.
  for (let index = 0; index < 30; index++) await workload.createOrder();

  const prefix = uniqueName('roll');
  const options = await testConnectorOptions(table, prefix);
  const snapshot = new SnapshotSource(dynamodb, {
    table,
    region: 'us-east-1',
    entityRule: { kind: 'key-prefix', attribute: 'PK', separator: '#' },
    segments: 2,
    readCapacityPerSecond: 0,
  });
  const topic = `${prefix}.${table}.order`;
  await ensureTopics(options.kafka, [topic]);
  const { clickhouse } = await testClickHouse();
  const groups = [
    testGroup(prefix, 'rollups', [topic], rollupSink(prefix, clickhouse)),
    testGroup(prefix, 'audit', [topic], auditSink(prefix, clickhouse)),
  ];
  await Promise.all(groups.map((group) => group.start()));
  const connector = new Connector({ ...options, sources: [snapshot, ...options.sources] });
  const running = connector.start();

  for (let step = 0; step < 250; step++) await workload.step();

  const dailySales = await eventually(
    () => queryRows<DailySalesRow>(clickhouse, 'SELECT day, category, order_count, revenue FROM daily_sales'),
    workload.expectedDailySales(),
  );
  const userTotals = await eventually(
    () => queryRows<UserTotalsRow>(clickhouse, 'SELECT user_id, order_count, total_spent FROM user_totals'),
    workload.expectedUserTotals(),
  );
  const truth = (await streamEventIds(table)).sort();
  const auditIds = await eventually(
    async () =>
      (await queryRows<{ event_id: string }>(clickhouse, 'SELECT event_id FROM audit_log FINAL ORDER BY event_id')).map(
        (row) => row.event_id,
      ),
    truth,
    20_000,
  );
  const audit = await queryRows<{ op: string; changes: string; user_type: string }>(
    clickhouse,
    "SELECT op, changes, user_type FROM audit_log FINAL WHERE entity_key = 'PK=S:ORDER#000000|SK=S:ORDER#000000' ORDER BY at DESC, version DESC",
  );

  await connector.stop();
  await running;
  await Promise.all(groups.map((group) => group.stop()));
  await clickhouse.close();
  dynamodb.destroy();

  assert.deepEqual(dailySales, workload.expectedDailySales());
  assert.deepEqual(userTotals, workload.expectedUserTotals());
  assert.ok(audit.length >= 1 && audit.at(-1)!.op === 'INSERT', 'the first entry of an order is its creation');
  assert.deepEqual(auditIds, truth, 'one audit entry per stream change, none for snapshot rows');
});
