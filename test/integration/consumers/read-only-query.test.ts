import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readOnlyQuery } from '../../../consumers/clickhouse/read-only-query.ts';
import { testClickHouse } from '../../harness/consumers.ts';

test("a query through the sinks' own ClickHouse connection leaves it writable, and only reading statements run", async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  await clickhouse.command({
    query: 'CREATE TABLE IF NOT EXISTS sales (day Date, revenue Decimal(38, 2)) ENGINE = MergeTree ORDER BY day',
  });
  await clickhouse.insert({ table: 'sales', values: [{ day: '2026-11-01', revenue: '10.50' }], format: 'JSONEachRow' });
  assert.equal(await readOnlyQuery(clickhouse, 'SELECT sum(revenue) AS revenue FROM sales'), '{"revenue":"10.50"}\n');
  // The insert a sink makes next must still work (a `readonly` setting would have stuck to the session).
  await clickhouse.insert({ table: 'sales', values: [{ day: '2026-11-02', revenue: '1.25' }], format: 'JSONEachRow' });
  for (const [sql, refusal] of [
    ['DROP TABLE sales', /only queries that read are accepted/],
    ['INSERT INTO sales VALUES (today(), 1)', /only queries that read/],
    ['SET readonly = 1', /only queries that read/],
    ['SELECT 1; DROP TABLE sales', /not a valid query: .*Multi-statements are not allowed/],
    ["SELECT 1 INTO OUTFILE '/tmp/x'", /only queries that read/],
    ["SELECT * FROM file('/etc/passwd', 'LineAsString')", /table functions that read files or other servers/],
    ["SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')", /table functions/],
  ] as const) {
    await assert.rejects(readOnlyQuery(clickhouse, sql), refusal, sql);
  }
  // An endless result is cut at the row limit, and the next query on the connection is its own.
  assert.ok((await readOnlyQuery(clickhouse, 'SELECT number FROM system.numbers')).split('\n').length <= 1_100_001);
  assert.equal(await readOnlyQuery(clickhouse, 'SELECT count() AS rows FROM sales'), '{"rows":"2"}\n');
  await clickhouse.insert({ table: 'sales', values: [{ day: '2026-11-03', revenue: '2.00' }], format: 'JSONEachRow' });
});
