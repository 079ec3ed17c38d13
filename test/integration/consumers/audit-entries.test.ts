import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuditSink, diff } from '../../../consumers/audit/audit-sink.ts';
import { canonicalKey, type ChangeEvent, type DynamoImage } from '../../../schemas/change-event.ts';
import { plainImage } from '../../../schemas/plain.ts';
import { queryRows, testClickHouse } from '../../harness/consumers.ts';

const keys = { PK: { S: 'ORDER#1' }, SK: { S: 'ORDER#1' } };
const event = (eventId: string, before: DynamoImage | null, after: DynamoImage | null): ChangeEvent => ({
  op: after ? (before ? 'MODIFY' : 'INSERT') : 'REMOVE',
  eventId,
  table: 'orders',
  entity: 'order',
  version: eventId.slice(1),
  keys,
  before,
  after,
  source: {
    kind: 'DYNAMODB_STREAMS',
    region: 'us-east-1',
    table: 'orders',
    stream: 's',
    shardId: 'sh',
    sequenceNumber: '1',
    approximateCreationTimeMicros: Date.now() * 1000,
    userIdentity: null,
    ttlDelete: false,
  },
});

test('an entry stores its changes and images as the exact JSON text of the diff and the plain images', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const odd: DynamoImage = {
    ...keys,
    note: { S: 'quote " backslash \\ tab \t newline \n ünïcödé ✓ \u0001' },
    total: { N: '12345678901234567890.12' },
    tags: { SS: ['a', 'b'] },
    nested: { M: { list: { L: [{ N: '1' }, { NULL: true }, { BOOL: false }] }, empty: { M: {} } } },
    bytes: { B: Buffer.from([0, 255]) },
  };
  const events = [event('e1', null, odd), event('e2', odd, { ...keys }), event('e3', { ...keys }, null)];
  const sink = new AuditSink({
    group: 'entries',
    clickhouse,
    table: 'audit_entries',
    retentionDays: 90,
    redactions: {},
    hashSalt: '',
    includeSnapshots: false,
  });
  await sink.open();
  await sink.apply({
    topic: 'orders',
    partition: 0,
    records: events.map((change, offset) => ({ offset: String(offset), key: canonicalKey(keys), event: change })),
    nextOffset: '3',
  });
  await sink.close();
  const rows = await queryRows<{ changes: string; old_values: string | null; new_values: string | null }>(
    clickhouse,
    'SELECT changes, old_values, new_values FROM audit_entries FINAL ORDER BY event_id',
  );
  assert.deepEqual(
    rows,
    events.map(({ before, after }) => {
      const [old, current] = [plainImage(before), plainImage(after)];
      return {
        changes: JSON.stringify(diff(old, current)),
        old_values: old ? JSON.stringify(old) : null,
        new_values: current ? JSON.stringify(current) : null,
      };
    }),
  );
});
