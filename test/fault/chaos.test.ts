import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../stack/paths.ts';
import { runChaos } from '../chaos/chaos.ts';
import { writeReport } from '../chaos/report.ts';
import { kafkaClusterUnavailable } from '../harness/kafka-cluster.ts';
import { canControlServers } from '../harness/servers.ts';

/** The chaos run of `npm run chaos`, short and with a fixed seed: the CI's version of it. */
const SEED = Number(process.env.SHARDLINE_CHAOS_SEED ?? 4242);
const MINUTES = 3;

const skip = !canControlServers() ? 'the servers are not under this run\'s control (set SHARDLINE_TEST_STACK_CONTROL=1 on the native stack)' : kafkaClusterUnavailable();

test(`chaos run, seed ${SEED}, ${MINUTES} minutes of faults: every store equals the ground truth`, { skip, timeout: 360_000 }, async (t) => {
  const started = performance.now();
  const report = await runChaos({ seed: SEED, minutes: MINUTES, outDir: join(repoRoot, 'chaos') });
  const path = writeReport(join(repoRoot, 'chaos'), report);
  t.diagnostic(`report in ${path}: ${JSON.stringify({ kills: report.kills.total, broker_restarts: report.broker_restarts, outages: report.outages, changes: report.changes, max_recovery_s: report.max_recovery_s, wall_s: Math.round((performance.now() - started) / 1000) })}`);
  assert.deepEqual(report.first_differences, [], `stores differ from the ground truth; logs in ${report.logs}`);
  assert.ok(report.passed, JSON.stringify(report, null, 2));
  assert.ok(report.kills.total >= 30, `${report.kills.total} kills`);
  assert.ok(report.broker_restarts >= 2, `${report.broker_restarts} broker restarts`);
  for (const [store, outages] of Object.entries(report.outages)) assert.ok(outages >= 1, `${store}: ${outages} outages`);
  assert.equal(report.dead_letters, report.dead_letters_expected);
  assert.ok(report.changes > 1_000, `${report.changes} changes`);
});
