import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../stack/paths.ts';
import { canControlServers } from '../harness/servers.ts';
import { kafkaClusterUnavailable } from '../harness/kafka-cluster.ts';
import { runChaos } from './chaos.ts';
import { writeReport, type ChaosReport } from './report.ts';

const unavailable = kafkaClusterUnavailable();
const options = { timeout: 900_000, skip: unavailable && `a three-broker Kafka cannot run here: ${unavailable}` };

/** Distinct changes of the Kinesis table the run must have verified: it writes 3–10 a second, by the load of the machine. */
const MIN_KINESIS_CHANGES = 300;

/** One seeded run, its report written to chaos/report.json and summed up in the test's output. */
async function chaos(seed: number, minutes: number, connectors = 1): Promise<{ report: ChaosReport; summary: string; stackOutages: boolean }> {
  const stackOutages = canControlServers();
  const started = Date.now();
  const report = await runChaos({ seed, minutes, connectors, outDir: join(repoRoot, 'chaos'), stackOutages, log: (message) => console.log(`# chaos: ${message}`) });
  writeReport(join(repoRoot, 'chaos'), report);
  const summary = JSON.stringify({ seed, kills: report.kills, scale_out: report.scale_out, broker_restarts: report.broker_restarts, outages: report.outages, changes: report.changes_by_table, kinesis_delivery: report.kinesis_delivery, gaps: report.gaps, gaps_resnapshotted: report.gaps_resnapshotted, gap_detections: report.gap_detections, trimmed_changes: report.trimmed_changes, resends_refused: report.resends_refused, lost: report.lost, doubled: report.doubled, wrong: report.wrong, dead_letters: report.dead_letters, dead_letters_expected: report.dead_letters_expected, max_recovery_s: report.max_recovery_s, first_differences: report.first_differences, unexpected_exits: report.unexpected_exits, logs: report.logs });
  console.log(`# chaos report (${Math.round((Date.now() - started) / 1000)} s): ${summary}`);
  return { report, summary, stackOutages };
}

/** Both tables verified, a trimmed-stream gap covered by a re-snapshot, and nothing lost, doubled or wrong. */
function assertBothTablesAndGap(report: ChaosReport, summary: string): void {
  assert.ok(report.changes_by_table.kinesis >= MIN_KINESIS_CHANGES, `at least ${MIN_KINESIS_CHANGES} Kinesis changes (${report.changes_by_table.kinesis})`);
  assert.ok(report.kinesis_delivery.copies > 0 && report.kinesis_delivery.swaps > 0 && report.kinesis_delivery.shared_creation_times > 0, `Kinesis copies, swaps and shared creation times: ${JSON.stringify(report.kinesis_delivery)}`);
  assert.ok(report.gaps_resnapshotted >= 1 && report.trimmed_changes >= 1, `at least one gap with trimmed changes covered by a re-snapshot (${report.gaps_resnapshotted} re-snapshots, ${report.trimmed_changes} changes trimmed)`);
  assert.ok(report.passed, `nothing lost, doubled or wrong, and the dead letters exactly the injected ones: ${summary}`);
}

/**
 * The short chaos runs of `npm test` (the long one is run by hand, see the README): the whole pipeline as
 * processes on a three-broker Kafka under a seeded fault plan, a DynamoDB Streams table and a Kinesis
 * table written at once, trimmed-stream gaps, every store compared with the workloads' own records. The
 * seeds are ones that found defects. 4242: a checkpoint committed without its change events when a
 * partition leader died mid-send; dead letters doubled by a crash between letter and progress.
 */
test('chaos: kills, broker restarts, store outages and trimmed-stream gaps lose and double nothing, on both tables', options, async () => {
  const { report, summary, stackOutages } = await chaos(4242, 2.5);
  assert.ok(report.kills.total >= 30, `at least 30 kills (${report.kills.total})`);
  assert.ok(report.kills.at_fault_point >= 1, `at least one kill between a store write and its progress (${report.kills.at_fault_point})`);
  assert.ok(report.broker_restarts >= 2, `at least 2 broker restarts (${report.broker_restarts})`);
  if (stackOutages) for (const [store, count] of Object.entries(report.outages)) assert.ok(count >= 1, `an outage of ${store} (${count})`);
  assertBothTablesAndGap(report, summary);
});

/** Seed 99 (2 minutes): a second gap met before anything after the first was committed re-snapshotted with the first run's version. */
test('chaos, seed 99: a second gap before the first is behind the connector', options, async () => {
  const { report, summary } = await chaos(99, 2);
  assert.equal(report.gaps, 2, 'a gap with the connector away, then one with it stalled');
  assertBothTablesAndGap(report, summary);
});

/**
 * Seed 616 (1.5 minutes), the connector scaled out: three `shardline connector` instances of one name over 8
 * units, the Kinesis table on 8 shards; instances SIGKILLed and restarted, a spare added and instances
 * removed (SIGTERM) and added again, each a rebalance, beside the same faults and gaps. Nothing lost, doubled or wrong.
 */
test('chaos, scaled out: connector instances killed, added and removed lose and double nothing', options, async () => {
  const connectors = 3;
  const { report, summary } = await chaos(616, 1.5, connectors);
  const scaleOut = report.scale_out!;
  assert.ok(scaleOut.connector_kills >= connectors, `at least ${connectors} kills of connector instances (${scaleOut.connector_kills})`);
  assert.ok(scaleOut.added >= 1 && scaleOut.removed >= 1, `an instance added and one removed (${scaleOut.added} added, ${scaleOut.removed} removed)`);
  assert.ok(scaleOut.rebalances >= connectors, `at least ${connectors} rebalances (${scaleOut.rebalances})`);
  assert.ok(report.gaps_resnapshotted >= 1 && report.trimmed_changes >= 1, `a gap with trimmed changes covered by a re-snapshot (${report.gaps_resnapshotted} re-snapshots, ${report.trimmed_changes} changes trimmed)`);
  assert.ok(report.passed, `nothing lost, doubled or wrong, and the dead letters exactly the injected ones: ${summary}`);
});
