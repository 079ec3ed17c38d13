import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { classifyError } from '../../../core/errors.ts';
import { connectClickHouse } from '../../../consumers/clickhouse/client.ts';
import { insertJsonRows, registerRawInsert, type RawInsert } from '../../../consumers/clickhouse/insert.ts';

/** The embedded engine, as the sinks get it: its raw insert registered. */
const embedded = () =>
  connectClickHouse({ kind: 'embedded', path: mkdtempSync(join(tmpdir(), 'shardline-ch-insert-')) });

const COLUMNS = "s String, d Decimal(38, 2), a Array(String), n Nullable(String), at DateTime64(6, 'UTC'), u UInt256";
const rows = [
  { s: 'plain', d: '10.50', a: [], n: null, at: '2026-11-01 10:00:00.000000', u: '4421584500000000017450439091' },
  {
    s: 'quotes " and \\ backslashes, a\nnewline, a\ttab',
    d: '-99999999999999999999999999999999999.99',
    a: ['ünïcödé ✓', '😀', ''],
    n: '{"json":"as text"}',
    at: '1900-01-01 00:00:00.000001',
    u: '0',
  },
];

async function readAll(clickhouse: ClickHouseClient, table: string): Promise<unknown[]> {
  const result = await clickhouse.query({ query: `SELECT * FROM ${table} ORDER BY s`, format: 'JSONEachRow' });
  return result.json();
}

test("rows inserted through the embedded engine's raw insert read back as the client's insert stores them", async () => {
  const clickhouse = await embedded();
  for (const table of ['by_client', 'by_raw'])
    await clickhouse.command({ query: `CREATE TABLE ${table} (${COLUMNS}) ENGINE = MergeTree ORDER BY s` });
  await clickhouse.insert({ table: 'by_client', values: rows, format: 'JSONEachRow' });
  await insertJsonRows(clickhouse, { table: 'by_raw', rows, format: 'JSONEachRow' });
  const stored = await readAll(clickhouse, 'by_raw');
  assert.equal(stored.length, 2);
  assert.deepEqual(stored, await readAll(clickhouse, 'by_client'));

  // Arrays in the order of the named columns, with settings, as the rollup sink writes them.
  await clickhouse.command({ query: `CREATE TABLE compact (${COLUMNS}) ENGINE = MergeTree ORDER BY s` });
  await insertJsonRows(clickhouse, {
    table: 'compact',
    format: 'JSONCompactEachRow',
    columns: ['u', 's', 'd', 'a', 'n', 'at'],
    rows: rows.map((row) => [row.u, row.s, row.d, row.a, row.n, row.at]),
    settings: { async_insert: 0 },
  });
  assert.deepEqual(await readAll(clickhouse, 'compact'), stored);
  await clickhouse.close();
});

test('a row the engine refuses fails the raw insert as the client would: a ClickHouseError classified as a record', async () => {
  const clickhouse = await embedded();
  await clickhouse.command({ query: `CREATE TABLE refused (${COLUMNS}) ENGINE = MergeTree ORDER BY s` });
  const bad = [{ ...rows[0]!, d: 'not a number' }];
  const [raw, client] = await Promise.all([
    insertJsonRows(clickhouse, { table: 'refused', rows: bad, format: 'JSONEachRow' }).then(
      () => assert.fail('the raw insert took the row'),
      (error: unknown) => error as Error & { code?: string; cause?: Error },
    ),
    clickhouse.insert({ table: 'refused', values: bad, format: 'JSONEachRow' }).then(
      () => assert.fail('the client took the row'),
      (error: unknown) => error as Error & { code?: string },
    ),
  ]);
  assert.equal(raw.constructor.name, 'ClickHouseError');
  assert.equal(raw.code, client.code);
  assert.equal(classifyError(raw), 'record');
  assert.equal(classifyError(raw), classifyError(client));
  assert.equal(raw.cause?.name, 'ChdbInsertError', 'it went through the raw insert');
  assert.deepEqual(await readAll(clickhouse, 'refused'), []);
  await clickhouse.close();
});

test('a table name chDB refuses before the engine sees it stops the group, as the engine refusing it did', async () => {
  const clickhouse = await embedded();
  const error = await insertJsonRows(clickhouse, { table: 'audit-log', rows, format: 'JSONEachRow' }).then(
    () => assert.fail('the insert was taken'),
    (refused: unknown) => refused,
  );
  assert.equal(classifyError(error), 'fatal');
  assert.match(String(error), /audit-log/);
  await clickhouse.close();
});

test('the raw insert gets the lines the client would send, one buffer a batch; nothing for no rows', async () => {
  const connection = createChdbConnection({ path: mkdtempSync(join(tmpdir(), 'shardline-ch-insert-')) });
  const clickhouse = createClient({ connection: connection as never });
  const calls: Parameters<RawInsert>[0][] = [];
  registerRawInsert(clickhouse, (params) => (calls.push(params), connection.chdb.rawInsert(params)));
  await clickhouse.command({ query: `CREATE TABLE sent (${COLUMNS}) ENGINE = MergeTree ORDER BY s` });
  await insertJsonRows(clickhouse, { table: 'sent', rows, format: 'JSONEachRow' });
  await insertJsonRows(clickhouse, { table: 'sent', rows: [], format: 'JSONEachRow' });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.values.toString(), rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  assert.equal((await readAll(clickhouse, 'sent')).length, 2);
  await clickhouse.close();
});
