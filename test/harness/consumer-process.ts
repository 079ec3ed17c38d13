/**
 * The rollup and audit consumer groups in a process of their own, owning an embedded ClickHouse
 * directory, for fault tests that kill it. Environment: SHARDLINE_TEST_PREFIX, SHARDLINE_TEST_TOPIC,
 * SHARDLINE_TEST_CLICKHOUSE_PATH (and the endpoint and fault-point variables).
 */
import { auditSink, rollupSink, testClickHouse, testGroup } from './consumers.ts';

const prefix = process.env.SHARDLINE_TEST_PREFIX!;
const topic = process.env.SHARDLINE_TEST_TOPIC!;
const { clickhouse } = await testClickHouse(process.env.SHARDLINE_TEST_CLICKHOUSE_PATH!);
const groups = [testGroup(prefix, 'rollups', [topic], rollupSink(prefix, clickhouse)), testGroup(prefix, 'audit', [topic], auditSink(prefix, clickhouse))];
process.once('SIGTERM', async () => {
  await Promise.all(groups.map((group) => group.stop()));
  await clickhouse.close();
  process.exit(0);
});
await Promise.all(groups.map((group) => group.start()));
