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
  assert.equal(await restarted().read('t', 0), '100', 'only the first position was stored: a crash now replays from 100');

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
