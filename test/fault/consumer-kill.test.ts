import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { type DailySalesRow, type UserTotalsRow } from '../../cli/demo/workload.ts';
import { streamEventIds } from '../harness/connector.ts';
import { auditSink, queryRows, rollupSink, testClickHouse, testGroup } from '../harness/consumers.ts';
import { waitForCaughtUp } from '../../core/lag.ts';
import { killHard, randomBetween, spawnEntry } from '../harness/processes.ts';
import { startOrdersPipeline, writeInBackground } from '../harness/orders-pipeline.ts';

const RUNS = 8;
const FAULT_POINTS = ['rollups.after-insert', 'audit.after-insert'];

test(`kill the rollup and audit consumers ${RUNS} times (between insert and progress, and at random): stores equal the ground truth, also after a replay`, async (t) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });
  const pipeline = await startOrdersPipeline('cfault', 7);
  const { table, workload, prefix, options, topic } = pipeline;
  cleanup.push(() => pipeline.stop());
  const path = mkdtempSync(join(tmpdir(), 'shardline-fault-ch-'));
  const env = { SHARDLINE_TEST_PREFIX: prefix, SHARDLINE_TEST_TOPIC: topic, SHARDLINE_TEST_CLICKHOUSE_PATH: path };

  const writer = writeInBackground(workload);
  cleanup.push(() => writer.stop());

  let crashedAtPoint = 0;
  for (let run = 0; run < RUNS; run++) {
    // Even runs crash exactly between a sink's insert and its progress record; odd runs at a random moment.
    const faultEnv: Record<string, string> =
      run % 2 === 0
        ? { SHARDLINE_FAULT_POINT: FAULT_POINTS[(run / 2) % 2]!, SHARDLINE_FAULT_AFTER: String(randomBetween(1, 4)) }
        : {};
    const consumer: ChildProcess = spawnEntry(new URL('../harness/consumer-process.ts', import.meta.url), {
      ...env,
      ...faultEnv,
    });
    cleanup.push(() => killHard(consumer));
    const exited = new Promise<string | null>((resolve) => consumer.once('exit', (_code, signal) => resolve(signal)));
    // A killed member stays in the group until its session times out, so each run gets time to rejoin.
    const outcome = await Promise.race([
      exited.then(() => 'crashed'),
      sleep(run % 2 === 0 ? 20_000 : randomBetween(8_000, 12_000)).then(() => 'timeout'),
    ]);
    if (outcome === 'crashed') crashedAtPoint++;
    await killHard(consumer);
  }
  await writer.stop();
  assert.ok(crashedAtPoint >= 3, `the fault point was hit (${crashedAtPoint} times)`);

  // A last clean run catches up; then the stores are compared with the workload's own model.
  const last = spawnEntry(new URL('../harness/consumer-process.ts', import.meta.url), env);
  cleanup.push(() => killHard(last));
  await waitForCaughtUp(options.kafka, [`${prefix}-rollups`, `${prefix}-audit`], topic, 90_000);
  last.kill('SIGTERM');
  await new Promise((resolve) => last.once('exit', resolve));
  await pipeline.stop();

  const truth = (await streamEventIds(table)).sort();
  const { clickhouse } = await testClickHouse(path);
  const read = async () => ({
    dailySales: await queryRows<DailySalesRow>(
      clickhouse,
      'SELECT day, category, order_count, revenue FROM daily_sales',
    ),
    userTotals: await queryRows<UserTotalsRow>(clickhouse, 'SELECT user_id, order_count, total_spent FROM user_totals'),
    auditIds: (
      await queryRows<{ event_id: string }>(clickhouse, 'SELECT event_id FROM audit_log FINAL ORDER BY event_id')
    ).map((row) => row.event_id),
  });
  const afterFaults = await read();
  t.diagnostic(
    `${workload.operations} operations, ${truth.length} stream changes, crashed at a fault point ${crashedAtPoint} times`,
  );
  assert.deepEqual(afterFaults.dailySales, workload.expectedDailySales());
  assert.deepEqual(afterFaults.userTotals, workload.expectedUserTotals());
  assert.deepEqual(afterFaults.auditIds, truth);

  // Replay from the beginning: new groups over the same stores change nothing.
  const replayPrefix = `${prefix}-replay`;
  const groups = [
    testGroup(replayPrefix, 'rollups', [topic], rollupSink(replayPrefix, clickhouse)),
    testGroup(replayPrefix, 'audit', [topic], auditSink(replayPrefix, clickhouse)),
  ];
  await Promise.all(groups.map((group) => group.start()));
  await waitForCaughtUp(options.kafka, [`${replayPrefix}-rollups`, `${replayPrefix}-audit`], topic, 90_000);
  await Promise.all(groups.map((group) => group.stop()));
  assert.deepEqual(await read(), afterFaults);
  await clickhouse.close();
});
