import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { CacheSink } from '../../../consumers/cache/cache-sink.ts';
import type { SinkBatch } from '../../../consumers/runtime/sink.ts';
import { canonicalKey, type ChangeEvent } from '../../../schemas/change-event.ts';
import { testEndpoints, uniqueName } from '../../harness/endpoints.ts';
import { cachedItems } from '../../harness/stores.ts';

const keysOf = (id: string) => ({ PK: { S: id }, SK: { S: id } });

function change(id: string, op: ChangeEvent['op'], version: string, total: string | null): ChangeEvent {
  const keys = keysOf(id);
  return {
    op,
    eventId: `${id}-${version}`,
    table: 'orders',
    entity: 'order',
    version,
    keys,
    before: null,
    after: total === null ? null : { ...keys, total: { N: total } },
    source: {
      kind: 'DYNAMODB_STREAMS',
      region: 'us-east-1',
      table: 'orders',
      stream: 's',
      shardId: 'sh',
      sequenceNumber: version,
      approximateCreationTimeMicros: 1,
      userIdentity: null,
      ttlDelete: false,
    },
  };
}

let offset = 0;
const batchOf = (...events: ChangeEvent[]): SinkBatch => ({
  topic: 'orders-topic',
  partition: 0,
  nextOffset: String(offset + events.length),
  records: events.map((event) => ({ offset: String(offset++), key: canonicalKey(event.keys), event })),
});

test('with a TTL, neither a deleted item nor an older version of an expired one comes back on a replay', async (t) => {
  const prefix = uniqueName('ttl');
  const sink = new CacheSink({
    group: `${prefix}-cache`,
    url: testEndpoints().redisUrl,
    ttlSeconds: 1,
    keyPrefix: prefix,
    tableOf: () => 'orders',
  });
  await sink.open();
  t.after(() => sink.close());
  const docOf = async (id: string) =>
    (await cachedItems(prefix)).get(CacheSink.itemKey(prefix, 'orders', canonicalKey(keysOf(id))))?.doc;
  const money = '12345678901234567890123456789012345.67'; // 37 digits: no double holds it

  const history = [
    change('A', 'INSERT', '10', '1.00'),
    change('A', 'REMOVE', '20', null),
    change('B', 'INSERT', '5', '2.00'),
    change('B', 'MODIFY', '10', money),
  ];
  await sink.apply(batchOf(...history));
  assert.equal(JSON.parse((await docOf('B'))!).total, money);

  await sleep(1_500);
  // Older writes replayed after the entries' TTL (a dead letter replayed, a group reset to an earlier offset).
  await sink.apply(batchOf(history[0]!, history[2]!, history[3]!));
  assert.equal(await docOf('A'), undefined, 'the deleted item stays deleted');
  assert.equal(await docOf('B'), undefined, 'an expired item is not cached again from an older or equal version');

  await sink.apply(batchOf(change('B', 'MODIFY', '30', '3.10')));
  assert.equal(JSON.parse((await docOf('B'))!).total, '3.10', 'a newer version is cached');

  // An entry cached before versions were kept apart still blocks older changes with its own version.
  const redis = new Redis(testEndpoints().redisUrl);
  await redis.hset(
    CacheSink.itemKey(prefix, 'orders', canonicalKey(keysOf('C'))),
    'v',
    '50',
    'doc',
    '{"total":"5.00"}',
  );
  redis.disconnect();
  await sink.apply(batchOf(change('C', 'MODIFY', '40', '4.00')));
  assert.equal(await docOf('C'), '{"total":"5.00"}');
});
