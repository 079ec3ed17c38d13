import { resolve } from 'node:path';
import { processHoldingClickHouse } from '../../core/run-registry.ts';
import type { ShardlineConfig } from '../config/schema.ts';
import { hashValue } from '../../consumers/audit/redaction.ts';
import { readOnlyQuery } from '../../consumers/clickhouse/read-only-query.ts';
import { clickhouseOf } from '../pipeline.ts';

const parseLines = (body: string): Record<string, unknown>[] =>
  body
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/**
 * Runs read-only SQL against the rollups and audit log. With a ClickHouse server it connects directly;
 * with the embedded engine it asks the running Shardline process that holds the data directory (found
 * in the registry of running processes, else on the configured port) over HTTP, and opens the directory
 * itself when no process holds it.
 */
export async function querySql(config: ShardlineConfig, sql: string): Promise<Record<string, unknown>[]> {
  if (!config.clickhouse.url) {
    // The process holding the embedded directory answers queries on whatever port it serves.
    const { host, port } = processHoldingClickHouse(resolve(config.clickhouse.path))?.http ?? config.http;
    const viaProcess = await fetch(`http://${host}:${port}/query`, { method: 'POST', body: sql }).catch(
      () => undefined,
    );
    // 404: a process without ClickHouse answers on that port (a connector started first).
    if (viaProcess && viaProcess.status !== 404) {
      const body = await viaProcess.text();
      if (!viaProcess.ok) throw new Error(body.trim());
      return parseLines(body);
    }
  }
  const clickhouse = await clickhouseOf(config);
  try {
    return parseLines(await readOnlyQuery(clickhouse, sql));
  } finally {
    await clickhouse.close();
  }
}

const quote = (text: string): string => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/**
 * An entity's audit history, newest first: by canonical key (`PK=S:ORDER#1|SK=S:ORDER#1`) or any key value
 * (`ORDER#1`). A key attribute redacted by `hash` is stored as its salted hash, so with a `hash` rule the
 * value's hash is looked up too (the value itself or the `sha256:…` text the log shows both find it).
 */
export function auditHistory(config: ShardlineConfig, key: string, limit: number): Promise<Record<string, unknown>[]> {
  const { table, redact, hashSalt } = config.consumers.audit;
  const values = Object.values(redact).includes('hash') ? [key, hashValue(key, hashSalt)] : [key];
  return querySql(
    config,
    `SELECT at, op, entity_key, user_type, user_principal, ttl_delete, changes, event_id, source_shard, source_sequence
    FROM ${table} FINAL WHERE entity_key = ${quote(key)} OR hasAny(key_values, [${values.map(quote).join(', ')}])
    ORDER BY at DESC, toUInt256OrZero(version) DESC LIMIT ${Math.max(1, Math.floor(limit))}`,
  );
}
