import type { ClickHouseClient } from '@clickhouse/client';

/** A query `/query` and `shardline query` refuse, with the reason. */
export class QueryRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryRefused';
  }
}

const READING = /^(SELECT|WITH|SHOW|DESCRIBE|EXISTS|EXPLAIN|\()/i;
const SELECTING = /^(SELECT|WITH|\()/i;
/** Table functions that read files or reach other servers from the process: not for a query endpoint. */
const OUTSIDE =
  /\b(file|fileCluster|url|urlCluster|s3|s3Cluster|gcs|azureBlobStorage|hdfs|remote|remoteSecure|cluster|clusterAllReplicas|mysql|postgresql|mongodb|redis|sqlite|jdbc|odbc|executable|iceberg\w*|deltaLake\w*|hudi\w*|input)\s*\(/i;

/**
 * Per query (a SETTINGS clause sticks to nothing): read only, bounded in time and size. A result past the
 * size limit is cut, not refused: chDB 3.4 hands the rest of a result it refused mid-stream to the next
 * query on the session, which would be a sink's.
 */
const LIMITS =
  "readonly = 1, max_execution_time = 30, max_result_rows = 1000000, max_result_bytes = 100000000, result_overflow_mode = 'break'";

/**
 * Runs one read-only statement and returns its rows as JSON lines. ClickHouse itself parses the text
 * (`formatQuerySingleLine`), which refuses several statements in one; only statements that read are
 * run, in that canonical form. Settings are given in the query's own SETTINGS clause, never through the
 * client: the embedded engine applies client settings with `SET` on the one session the sinks write
 * through, where `readonly` would stay and stop every insert.
 */
export async function readOnlyQuery(clickhouse: ClickHouseClient, sql: string): Promise<string> {
  let statement: string;
  try {
    const parsed = await clickhouse.query({
      query: 'SELECT formatQuerySingleLine({sql:String}) AS statement',
      query_params: { sql },
      format: 'JSONEachRow',
    });
    statement = (await parsed.json<{ statement: string }>())[0]!.statement;
  } catch (error) {
    throw new QueryRefused(`not a valid query: ${(error as Error).message.split(': In scope')[0]}`);
  }
  if (!READING.test(statement) || /\bINTO\s+OUTFILE\b/i.test(statement)) {
    throw new QueryRefused(
      `only queries that read are accepted (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN), not: ${statement.slice(0, 80)}`,
    );
  }
  if (OUTSIDE.test(statement))
    throw new QueryRefused(
      `table functions that read files or other servers are not accepted here: ${statement.slice(0, 80)}`,
    );
  // A SELECT runs inside one with the limits (also read only on a server); the other statements only describe.
  const query = SELECTING.test(statement) ? `SELECT * FROM (${statement}) SETTINGS ${LIMITS}` : statement;
  const result = await clickhouse.query({ query, format: 'JSONEachRow' });
  return result.text();
}
