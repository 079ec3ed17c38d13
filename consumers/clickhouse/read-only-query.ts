import type { ClickHouseClient } from '@clickhouse/client';

/** A query `/query` and `shardline query` refuse, with the reason. */
export class QueryRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryRefused';
  }
}

const READING = /^(SELECT|WITH|SHOW|DESCRIBE|EXISTS|EXPLAIN|\()/i;

/**
 * Runs one read-only statement and returns its rows as JSON lines. ClickHouse itself parses the text
 * (`formatQuerySingleLine`), which refuses several statements in one; only statements that read are
 * run, in that canonical form. No `readonly` setting is used: the embedded engine applies settings
 * with `SET` on the one session the sinks write through, where it would stay and stop every insert.
 */
export async function readOnlyQuery(clickhouse: ClickHouseClient, sql: string): Promise<string> {
  let statement: string;
  try {
    const parsed = await clickhouse.query({ query: 'SELECT formatQuerySingleLine({sql:String}) AS statement', query_params: { sql }, format: 'JSONEachRow' });
    statement = (await parsed.json<{ statement: string }>())[0]!.statement;
  } catch (error) {
    throw new QueryRefused(`not a valid query: ${(error as Error).message.split(': In scope')[0]}`);
  }
  if (!READING.test(statement) || /\bINTO\s+OUTFILE\b/i.test(statement)) {
    throw new QueryRefused(`only queries that read are accepted (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN), not: ${statement.slice(0, 80)}`);
  }
  const result = await clickhouse.query({ query: statement, format: 'JSONEachRow' });
  return result.text();
}
