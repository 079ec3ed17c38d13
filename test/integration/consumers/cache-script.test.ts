import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

const script = readFileSync(new URL('../../../consumers/cache/apply-batch.lua', import.meta.url), 'utf8');
const redis = new Redis(testEndpoints().redisUrl);
after(() => redis.quit());

/**
 * The cache's batch script on a real Redis with a batch of thousands of items: items changed twice in it (newer,
 * and older), an item cached before the versions hash existed, and a replay of the whole batch.
 */
test("the cache script's batch of 2,500 items: the newest version of each, once, and nothing on a replay", async () => {
  const prefix = uniqueName('cachescript');
  const offsets = `${prefix}:offsets:{t}`;
  const versions = `${prefix}:versions:{t}`;
  const sweeps = `${prefix}:sweeps:{t}`;
  const item = (n: number) => `${prefix}:{t}:item-${n}`;
  const changes: { key: string; version: string; doc: string }[] = [];
  for (let n = 0; n < 2_500; n++) changes.push({ key: item(n), version: `${100 + n}`, doc: `{"n":${n}}` });
  // Item 5 twice more, far from its first change, newer each time.
  changes.splice(
    999,
    0,
    { key: item(5), version: '9001', doc: '{"n":"5b"}' },
    { key: item(5), version: '9002', doc: '{"n":"5c"}' },
  );
  // Item 7 again, older than its first change: refused.
  changes.push({ key: item(7), version: '50', doc: '{"n":"7 older"}' });
  // Item 2,000 cached before the versions hash existed, newer than the batch's change: the change is refused.
  await redis.hset(item(2_000), 'v', '999999', 'doc', '{"n":"kept"}');

  const run = () =>
    redis.eval(
      script,
      changes.length + 3,
      offsets,
      versions,
      sweeps,
      ...changes.map(({ key }) => key),
      't:0',
      '42',
      '0',
      ...changes.flatMap(({ version, doc }) => [version, 'set', doc, 'order']),
    ) as Promise<number>;
  // 2,500 items less item 2,000 (refused), and item 5 twice more; item 7's older change refused.
  assert.equal(await run(), 2_500 - 1 + 2);
  assert.equal(await run(), 0, 'a replay changes nothing');

  const recorded = await redis.hgetall(versions);
  assert.equal(Object.keys(recorded).length, 2_499, 'a version recorded for every item the batch changed');
  assert.equal(recorded[item(5)], '9002');
  assert.equal(recorded[item(7)], '107');
  assert.equal(recorded[item(2_499)], '2599');
  assert.deepEqual(await redis.hgetall(item(5)), { v: '9002', doc: '{"n":"5c"}' });
  assert.deepEqual(await redis.hgetall(item(7)), { v: '107', doc: '{"n":7}' });
  assert.deepEqual(await redis.hgetall(item(2_000)), { v: '999999', doc: '{"n":"kept"}' });
  assert.equal(await redis.hget(offsets, 't:0'), '42');
  const keys = [offsets, versions, ...changes.map(({ key }) => key)];
  await redis.del(...new Set(keys));
});
