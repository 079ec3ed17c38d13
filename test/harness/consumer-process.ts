/**
 * Consumer groups in a process of their own, for fault tests that kill it. Environment:
 * SHARDLINE_TEST_PREFIX, SHARDLINE_TEST_TOPIC, SHARDLINE_TEST_SINKS (rollups,audit | search,cache),
 * SHARDLINE_TEST_CLICKHOUSE_PATH for the ClickHouse sinks (and the endpoint and fault-point variables).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { auditSink, cacheSink, rollupSink, searchSink, testClickHouse, testGroup } from './consumers.ts';

const prefix = process.env.SHARDLINE_TEST_PREFIX!;
const topic = process.env.SHARDLINE_TEST_TOPIC!;
const sinks = (process.env.SHARDLINE_TEST_SINKS ?? 'rollups,audit').split(',');
let clickhouse: ClickHouseClient | undefined;
if (sinks.includes('rollups') || sinks.includes('audit'))
  clickhouse = (await testClickHouse(process.env.SHARDLINE_TEST_CLICKHOUSE_PATH!)).clickhouse;
const makers = {
  rollups: () => rollupSink(prefix, clickhouse!),
  audit: () => auditSink(prefix, clickhouse!),
  search: () => searchSink(prefix),
  cache: () => cacheSink(prefix),
} as const;
const groups = sinks.map((sink) => testGroup(prefix, sink, [topic], makers[sink as keyof typeof makers]()));
process.once('SIGTERM', async () => {
  await Promise.all(groups.map((group) => group.stop()));
  await clickhouse?.close();
  process.exit(0);
});
await Promise.all(groups.map((group) => group.start()));
// A group that stops on its own leaves the process, as `shardline consumer` does, so that a test sees it.
Promise.race(groups.map((group) => group.failed)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
