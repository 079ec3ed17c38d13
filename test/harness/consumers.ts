import type { ClickHouseClient } from '@clickhouse/client';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka } from '../../core/kafka.ts';
import { logger } from '../../core/logger.ts';
import { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import { AuditSink } from '../../consumers/audit/audit-sink.ts';
import { CacheSink } from '../../consumers/cache/cache-sink.ts';
import { searchConfigSchema } from '../../consumers/search/config.ts';
import { SearchSink } from '../../consumers/search/search-sink.ts';
import { connectClickHouse } from '../../consumers/clickhouse/client.ts';
import { defaultOrderView, defaultRollups } from '../../consumers/rollups/definition.ts';
import { RollupSink } from '../../consumers/rollups/rollup-sink.ts';
import { ConsumerGroup, type ConsumerGroupOptions } from '../../consumers/runtime/group.ts';
import type { Sink } from '../../consumers/runtime/sink.ts';
import { ChangeEventCodec } from '../../schemas/registry.ts';
import { testEndpoints } from './endpoints.ts';

/** An embedded ClickHouse in a fresh directory, or the configured server. */
export async function testClickHouse(
  path = mkdtempSync(join(tmpdir(), 'shardline-ch-')),
): Promise<{ clickhouse: ClickHouseClient; path: string }> {
  const url = testEndpoints().clickhouseUrl;
  const clickhouse = await connectClickHouse(url ? { kind: 'server', url } : { kind: 'embedded', path });
  return { clickhouse, path };
}

export function testGroup(
  prefix: string,
  name: string,
  topics: string[],
  sink: Sink,
  overrides: Partial<ConsumerGroupOptions> = {},
): ConsumerGroup {
  // Short sessions: a member killed by a fault test leaves the group quickly.
  return new ConsumerGroup({
    groupId: `${prefix}-${name}`,
    topics,
    kafka: createKafka({ brokers: testEndpoints().kafkaBrokers, clientId: `${prefix}-${name}` }),
    codec: new ChangeEventCodec({ url: testEndpoints().registryUrl }),
    sink,
    deadLetterTopic: `${prefix}.dlq`,
    batchSize: 500,
    backoff: { baseMs: 100, maxMs: 1_000, attempts: Infinity },
    maxMessageBytes: 1_000_000,
    logger: logger.child({ test: prefix, group: name }),
    sessionTimeoutMs: 6_000,
    ...overrides,
  });
}

export const rollupSink = (prefix: string, clickhouse: ClickHouseClient) =>
  new RollupSink({
    group: `${prefix}-rollups`,
    clickhouse,
    rollups: defaultRollups,
    views: { order: defaultOrderView },
  });

export const auditSink = (prefix: string, clickhouse: ClickHouseClient) =>
  new AuditSink({
    group: `${prefix}-audit`,
    clickhouse,
    table: 'audit_log',
    retentionDays: 90,
    redactions: { email: 'mask' },
    hashSalt: 'test',
    includeSnapshots: false,
  });

export const testSearchConfig = (prefix: string) =>
  searchConfigSchema.parse({
    indexPrefix: prefix,
    replicas: 0,
    documents: { order: { text: ['category', 'status'] } },
  });

export const searchSink = (prefix: string, targetIndex?: string, group = `${prefix}-search`) =>
  new SearchSink({
    group,
    targetIndex: targetIndex ? { order: targetIndex } : undefined,
    client: new OpenSearchClient({ node: testEndpoints().opensearchUrl }),
    config: testSearchConfig(prefix),
    views: { order: defaultOrderView },
    itemBackoff: { baseMs: 100, maxMs: 2_000, attempts: 10 },
  });

/** Topics are named `<prefix>.<table>.<entity>` in the tests. */
export const cacheSink = (prefix: string) =>
  new CacheSink({
    group: `${prefix}-cache`,
    url: testEndpoints().redisUrl,
    ttlSeconds: 0,
    keyPrefix: prefix,
    tableOf: (topic) => topic.split('.')[1]!,
  });

/** Polls until `read` returns what `expected` is (deep-equal as JSON), or the time is up; returns the last read. */
export async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    last = await read();
  }
  return last;
}

export async function queryRows<T>(clickhouse: ClickHouseClient, query: string): Promise<T[]> {
  const result = await clickhouse.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}
