import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';

test('a Lua script runs atomically through ioredis', async () => {
  const redis = new Redis(testEndpoints().redisUrl);
  const key = `{${uniqueName('smoke')}}:item`;
  // Writes only when the incoming version is newer, the rule every cache write follows.
  const setIfNewer = `
    local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
    if tonumber(ARGV[1]) > current then
      redis.call('HSET', KEYS[1], 'version', ARGV[1], 'value', ARGV[2])
      return 1
    end
    return 0`;
  assert.equal(await redis.eval(setIfNewer, 1, key, '2', 'second'), 1);
  assert.equal(await redis.eval(setIfNewer, 1, key, '1', 'first'), 0);
  assert.deepEqual(await redis.hgetall(key), { version: '2', value: 'second' });
  await redis.del(key);
  redis.disconnect();
});
