import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { ClickHouseProgress } from '../../../consumers/clickhouse/progress.ts';
import { uniqueName } from '../../harness/endpoints.ts';
import { testClickHouse } from '../../harness/consumers.ts';

test('ClickHouse progress: stored at most once per interval, read back by a restarted member, never moved back by a late member', async () => {
  const { clickhouse } = await testClickHouse();
  const table = uniqueName('progress').replaceAll('-', '_');
  const member = new ClickHouseProgress(clickhouse, 'g', table, 500);
  await member.open();
  const restarted = () => new ClickHouseProgress(clickhouse, 'g', table, 500);

  await member.write('t', 0, '100');
  await member.write('t', 0, '200');
  assert.equal(await member.read('t', 0), '200', 'the member knows what it recorded');
  assert.equal(
    await restarted().read('t', 0),
    '100',
    'only the first position was stored: a crash now replays from 100',
  );

  await sleep(600);
  await member.write('t', 0, '300');
  assert.equal(await restarted().read('t', 0), '300', 'stored once the interval was up');

  await member.write('t', 1, '50');
  await member.flush();
  assert.equal(await restarted().read('t', 1), '50', 'a clean stop stores what was recorded');
  assert.equal(await restarted().read('other', 0), undefined);

  // A member that lost partition 0 stores its older position after the new owner stored a newer one.
  const lateMember = new ClickHouseProgress(clickhouse, 'g', table, 0);
  await lateMember.write('t', 0, '250');
  assert.equal(await restarted().read('t', 0), '300');
  await clickhouse.close();
});

test("ClickHouse progress: the highest position survives a merge that keeps a late member's lower one", async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const table = uniqueName('progress').replaceAll('-', '_');
  const owner = new ClickHouseProgress(clickhouse, 'g', table, 0);
  await owner.open();
  await owner.write('t', 0, '100');
  await new ClickHouseProgress(clickhouse, 'g', table, 0).write('t', 0, '50');
  await clickhouse.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  assert.equal(await new ClickHouseProgress(clickhouse, 'g', table).read('t', 0), '100');
});

test('ClickHouse progress: a table of the old layout keeps its highest positions when opened, again and again', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const table = uniqueName('progress').replaceAll('-', '_');
  await clickhouse.command({
    query: `CREATE TABLE ${table} (
    group String, topic String, partition UInt32, next_offset UInt64, updated DateTime64(6) DEFAULT now64(6)
  ) ENGINE = ReplacingMergeTree(updated) ORDER BY (group, topic, partition)`,
  });
  await clickhouse.insert({
    table,
    format: 'JSONEachRow',
    values: [{ group: 'g', topic: 't', partition: 0, next_offset: '100' }],
  });
  await clickhouse.insert({
    table,
    format: 'JSONEachRow',
    values: [
      { group: 'g', topic: 't', partition: 0, next_offset: '50' },
      { group: 'g', topic: 't', partition: 1, next_offset: '7' },
    ],
  });

  // Two sinks of one process open it at once, and a restart opens it again.
  await Promise.all([
    new ClickHouseProgress(clickhouse, 'g', table).open(),
    new ClickHouseProgress(clickhouse, 'h', table).open(),
  ]);
  await new ClickHouseProgress(clickhouse, 'g', table).open();
  await new ClickHouseProgress(clickhouse, 'g', table, 0).write('t', 0, '60');
  await clickhouse.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  const reader = new ClickHouseProgress(clickhouse, 'g', table);
  assert.deepEqual([await reader.read('t', 0), await reader.read('t', 1)], ['100', '7']);
  const tables = await clickhouse.query({
    query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE '${table}%'`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await tables.json(), [{ name: table }], 'no table of the migration is left behind');
});
