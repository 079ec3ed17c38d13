import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuditSink } from '../../../consumers/audit/audit-sink.ts';
import { hashValue, type Redactions } from '../../../consumers/audit/redaction.ts';
import { canonicalKey, type ChangeEvent } from '../../../schemas/change-event.ts';
import { queryRows, testClickHouse } from '../../harness/consumers.ts';

const keys = { PK: { S: 'USER#ada@example.com' }, SK: { N: '42' } };
const event: ChangeEvent = {
  op: 'INSERT',
  eventId: 'e-1',
  table: 'users',
  entity: 'user',
  version: '1',
  keys,
  before: null,
  after: { ...keys, name: { S: 'Ada' } },
  source: {
    kind: 'DYNAMODB_STREAMS',
    region: 'us-east-1',
    table: 'users',
    stream: 's',
    shardId: 'sh',
    sequenceNumber: '1',
    approximateCreationTimeMicros: Date.now() * 1000,
    userIdentity: null,
    ttlDelete: false,
  },
};

test('key attributes configured for redaction are redacted in entity_key and key_values too', async (t) => {
  const { clickhouse } = await testClickHouse();
  t.after(() => clickhouse.close());
  const record = async (table: string, redactions: Redactions) => {
    const sink = new AuditSink({
      group: table,
      clickhouse,
      table,
      retentionDays: 90,
      redactions,
      hashSalt: 'salt',
      includeSnapshots: false,
    });
    await sink.open();
    await sink.apply({
      topic: 'users',
      partition: 0,
      records: [{ offset: '0', key: canonicalKey(keys), event }],
      nextOffset: '1',
    });
    await sink.close();
    const [row] = await queryRows<Record<string, unknown>>(
      clickhouse,
      `SELECT entity_key, key_values, changes, new_values FROM ${table} FINAL`,
    );
    return row!;
  };

  const hashed = await record('audit_hashed', { PK: 'hash', SK: 'mask' });
  assert.equal(hashed.entity_key, `PK=S:${hashValue('USER#ada@example.com', 'salt')}|SK=S:***`);
  assert.deepEqual(hashed.key_values, [hashValue('USER#ada@example.com', 'salt'), '***']);
  assert.ok(!JSON.stringify(hashed).includes('ada@example.com'), JSON.stringify(hashed));

  const dropped = await record('audit_dropped', { PK: 'drop' });
  assert.equal(dropped.entity_key, 'SK=N:42');
  assert.deepEqual(dropped.key_values, ['42']);
  assert.ok(!JSON.stringify(dropped).includes('ada@example.com'), JSON.stringify(dropped));

  const plain = await record('audit_plain', { name: 'mask' });
  assert.equal(plain.entity_key, 'PK=S:USER#ada@example.com|SK=N:42');
  assert.deepEqual(plain.key_values, ['USER#ada@example.com', '42']);
});
