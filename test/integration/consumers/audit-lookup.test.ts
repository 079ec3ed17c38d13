import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { auditHistory } from '../../../cli/commands/query.ts';
import { AuditSink } from '../../../consumers/audit/audit-sink.ts';
import { hashValue } from '../../../consumers/audit/redaction.ts';
import { validateConfig } from '../../../cli/config/load.ts';
import { canonicalKey, type ChangeEvent } from '../../../schemas/change-event.ts';
import { testClickHouse } from '../../harness/consumers.ts';
import { testEndpoints } from '../../harness/endpoints.ts';

const keys = { PK: { S: 'USER#ada@example.com' }, SK: { S: 'PROFILE' } };
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

/** A port nothing listens on, so that the query opens the data directory itself rather than asking a process. */
async function unusedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('shardline audit <value> finds the entries of a key whose attribute is stored hashed', async () => {
  const path = mkdtempSync(join(tmpdir(), 'shardline-ch-'));
  const url = testEndpoints().clickhouseUrl;
  const config = validateConfig({
    kafka: { brokers: ['127.0.0.1:9092'] },
    registry: { url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
    connector: { tables: [{ name: 'users' }] },
    clickhouse: url ? { url } : { path },
    http: { port: await unusedPort() },
    consumers: { audit: { table: `audit_lookup_${Date.now()}`, redact: { PK: 'hash' }, hashSalt: 'salt' } },
  });
  const { audit } = config.consumers;
  const { clickhouse } = await testClickHouse(path);
  try {
    const sink = new AuditSink({
      group: 'lookup',
      clickhouse,
      table: audit.table,
      retentionDays: 90,
      redactions: audit.redact,
      hashSalt: audit.hashSalt,
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
  } finally {
    // The embedded engine's directory has one owner at a time: the lookup opens it next.
    await clickhouse.close();
  }

  const hashedKey = `PK=S:${hashValue('USER#ada@example.com', 'salt')}|SK=S:PROFILE`;
  const byValue = await auditHistory(config, 'USER#ada@example.com', 10);
  assert.deepEqual(
    byValue.map((entry) => entry.entity_key),
    [hashedKey],
  );
  const byHash = await auditHistory(config, hashValue('USER#ada@example.com', 'salt'), 10);
  assert.deepEqual(
    byHash.map((entry) => entry.entity_key),
    [hashedKey],
  );
  assert.deepEqual(await auditHistory(config, 'USER#bob@example.com', 10), []);
});
