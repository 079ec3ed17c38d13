import type { ClickHouseClient } from '@clickhouse/client';
import { insertJsonRows } from '../consumers/clickhouse/insert.ts';
import type { ChangeEvent } from '../schemas/change-event.ts';

/**
 * The rollup baseline: the values the two default rollups keep of an order, inserted plainly in one table per
 * rollup (the layout before aggregates), as fast as ClickHouse takes them (embedded: its raw insert, as the sinks).
 */
export interface RawRollupRow {
  key: string;
  version: string;
  day: string;
  category: string;
  user: string;
  total: string;
}

export async function createRawRollupTables(clickhouse: ClickHouseClient): Promise<void> {
  await clickhouse.command({
    query:
      'CREATE TABLE raw_daily (item_key String, version UInt256, is_deleted UInt8, day Date, category String, m_revenue Decimal(38, 2)) ENGINE = MergeTree ORDER BY item_key',
  });
  await clickhouse.command({
    query:
      'CREATE TABLE raw_users (item_key String, version UInt256, is_deleted UInt8, user_id String, m_total_spent Decimal(38, 2)) ENGINE = MergeTree ORDER BY item_key',
  });
}

export function rawRollupRow(key: string, event: ChangeEvent): RawRollupRow {
  const after = event.after!;
  return {
    key,
    version: event.version,
    day: after.created_at!.S!.slice(0, 10),
    category: after.category!.S!,
    user: after.user_id!.S!,
    total: after.total!.N!,
  };
}

export async function writeRawRollupRows(clickhouse: ClickHouseClient, rows: RawRollupRow[]): Promise<void> {
  await insertJsonRows(clickhouse, {
    table: 'raw_daily',
    format: 'JSONEachRow',
    rows: rows.map((row) => ({
      item_key: row.key,
      version: row.version,
      is_deleted: 0,
      day: row.day,
      category: row.category,
      m_revenue: row.total,
    })),
  });
  await insertJsonRows(clickhouse, {
    table: 'raw_users',
    format: 'JSONEachRow',
    rows: rows.map((row) => ({
      item_key: row.key,
      version: row.version,
      is_deleted: 0,
      user_id: row.user,
      m_total_spent: row.total,
    })),
  });
}
