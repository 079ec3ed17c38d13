import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import { waitForCaughtUp } from '../../core/lag.ts';
import { queryRows, rollupSink, testClickHouse, testGroup } from '../harness/consumers.ts';
import { canControlServers, freeze } from '../harness/servers.ts';
import { registryService } from '../../stack/services/registry.ts';
import { stopProcess, waitUntilReady } from '../../stack/supervisor.ts';
import { startOrdersPipeline, type OrdersPipeline } from '../harness/orders-pipeline.ts';
import { readTopics } from '../harness/topic-reader.ts';
import type { DailySalesRow } from '../../cli/demo/workload.ts';

/** Orders written through the connector (which knows the schema id), and a rollups group not started yet. */
async function rollupsOverOrders(t: TestContext, name: string, seed: number) {
  const pipeline = await startOrdersPipeline(name, seed);
  const { clickhouse } = await testClickHouse();
  const group = testGroup(pipeline.prefix, 'rollups', [pipeline.topic], rollupSink(pipeline.prefix, clickhouse), {
    stuckAfterMs: 2_000,
  });
  t.after(async () => {
    await group.stop();
    await pipeline.stop();
    await clickhouse.close();
  });
  for (let step = 0; step < 60; step++) await pipeline.workload.step();
  await sleep(1_500);
  return { pipeline, clickhouse, group };
}

async function assertCaughtUpExactly(pipeline: OrdersPipeline, clickhouse: ClickHouseClient): Promise<void> {
  await waitForCaughtUp(pipeline.options.kafka, [`${pipeline.prefix}-rollups`], pipeline.topic, 90_000);
  assert.deepEqual(
    await queryRows<DailySalesRow>(clickhouse, 'SELECT day, category, order_count, revenue FROM daily_sales'),
    pipeline.workload.expectedDailySales(),
  );
  assert.deepEqual(
    await readTopics(pipeline.options.kafka, [pipeline.options.topics.deadLetter], () => false, 2_000),
    [],
    'nothing dead-lettered',
  );
}

test(
  'a registry that stops answering while a group learns the schema: the group waits, dead-letters nothing, and catches up',
  { skip: !canControlServers() && 'needs the native stack to freeze the registry' },
  async (t) => {
    const { pipeline, clickhouse, group } = await rollupsOverOrders(t, 'regout', 41);
    // The registry stops answering as the group joins: it cannot look up the schema of any record yet.
    await group.start();
    const outage = freeze('registry', 12_000);
    let notReady = false;
    const until = Date.now() + 11_000;
    while (!notReady && Date.now() < until) {
      notReady = !group.health().ready;
      await sleep(200);
    }
    await outage;
    assert.ok(notReady, 'the group reported itself not ready while the registry did not answer');
    const failed = await Promise.race([
      group.failed.then(
        () => 'resolved',
        (error: Error) => error.message,
      ),
      sleep(100).then(() => 'running'),
    ]);
    assert.equal(failed, 'running', 'the outage is waited out, not taken for a refusal');
    await assertCaughtUpExactly(pipeline, clickhouse);
  },
);

test(
  'a registry stopped and started again while a group learns the schema: refused connections are waited out, the schemas survive the restart',
  { skip: !canControlServers() && 'needs the native stack to stop the registry' },
  async (t) => {
    const { pipeline, clickhouse, group } = await rollupsOverOrders(t, 'regstop', 43);
    await stopProcess('registry');
    try {
      // The group starts without the registry: it cannot look up the schema of any record.
      await group.start();
      await sleep(8_000);
      assert.equal(group.health().ready, false, 'not ready while the registry refuses connections');
      const failed = await Promise.race([
        group.failed.then(
          () => 'resolved',
          (error: Error) => error.message,
        ),
        sleep(100).then(() => 'running'),
      ]);
      assert.equal(
        failed,
        'running',
        'a refused connection is waited out, not taken for the registry refusing the group',
      );
    } finally {
      await registryService.start();
      await waitUntilReady('registry', () => registryService.ready(), registryService.readyTimeoutMs);
    }
    await assertCaughtUpExactly(pipeline, clickhouse);
  },
);
