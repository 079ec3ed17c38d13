import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditTimeline } from '../../../cli/commands/audit-timeline.ts';
import { parseReadiness, type StatusReport } from '../../../cli/commands/status.ts';
import { catchUp, statusLines } from '../../../cli/commands/status-view.ts';
import { formatDuration, formatTable } from '../../../cli/format.ts';

test('tables align numbers right and text left', () => {
  assert.deepEqual(
    formatTable([
      { group: 'rollups', lag: 5 },
      { group: 'audit-long', lag: 1234 },
    ]),
    ['group        lag', 'rollups        5', 'audit-long  1234'],
  );
  assert.deepEqual(formatTable([]), ['(no rows)']);
  assert.equal(formatDuration(3725), '1 h 02 m');
  assert.equal(formatDuration(65), '1 m 05 s');
});

test('the audit history reads as a timeline: when, what, who (TTL deletes marked), one field change a line', () => {
  const key = 'PK=S:ORDER#3|SK=S:ORDER#3';
  const lines = auditTimeline('ORDER#3', [
    {
      at: '2026-11-26 10:00:05.000000',
      op: 'REMOVE',
      entity_key: key,
      user_type: 'Service',
      user_principal: 'dynamodb.amazonaws.com',
      ttl_delete: true,
      changes: JSON.stringify([{ field: 'status', old: 'paid', new: null }]),
      event_id: 'e3',
      source_shard: 's1',
      source_sequence: '300',
    },
    {
      at: '2026-11-26 10:00:01.000000',
      op: 'MODIFY',
      entity_key: key,
      user_type: '',
      user_principal: '',
      ttl_delete: false,
      changes: JSON.stringify([
        { field: 'status', old: 'new', new: 'paid' },
        { field: 'total', old: '10.00', new: '12.50' },
      ]),
      event_id: 'e2',
      source_shard: 's1',
      source_sequence: '200',
    },
  ]);
  assert.deepEqual(lines, [
    `ORDER#3: 2 changes, newest first (${key})`,
    '',
    '2026-11-26 10:00:05.000000  REMOVE  TTL delete by Service dynamodb.amazonaws.com',
    '  status: paid → (none)',
    '  event e3 · shard s1 · sequence 300',
    '',
    '2026-11-26 10:00:01.000000  MODIFY',
    '  status: new → paid',
    '  total:  10.00 → 12.50',
    '  event e2 · shard s1 · sequence 200',
  ]);
  assert.deepEqual(auditTimeline('ORDER#9', []), ['no audit entries for ORDER#9']);
});

test('/ready lines become parts; a group catching up shows its pace and time left', () => {
  assert.deepEqual(
    parseReadiness('not ready\nconnector orders: ready\ngroup g: not ready (failing for 75 s: ECONNREFUSED (x))\n'),
    [
      { part: 'connector orders', ready: true },
      { part: 'group g', ready: false, detail: 'failing for 75 s: ECONNREFUSED (x)' },
    ],
  );
  assert.equal(catchUp(10_000, 4_000, 2), '3,000/s, ~1 s left');
  assert.equal(catchUp(100, 0, 2), 'caught up');
  assert.equal(catchUp(100, 150, 2), 'growing');
  assert.equal(catchUp(3, 8, 2), 'keeping up');
  assert.equal(catchUp(undefined, 150, 0), '');
});

test('the status screen shows each pipeline, what is not ready and why, lag and dead letters', () => {
  const report: StatusReport = {
    shards: [],
    shardLag: [],
    groups: [],
    deadLetters: 0,
    pipelines: [
      {
        source: 'process',
        pid: 42,
        command: 'demo',
        startedAt: '2026-11-26T10:00:00.000Z',
        http: '127.0.0.1:9464',
        ready: false,
        parts: [
          { part: 'connector d', ready: true },
          { part: 'group d-rollups', ready: false, detail: 'failing for 61 s: ECONNREFUSED' },
        ],
        shards: [
          {
            stream: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-26T14:32:35.325',
            shard: 'shardId-1',
            sequenceNumber: '9',
            finished: false,
            iteratorAgeSeconds: 1,
            trimHeadroomSeconds: 86_000,
          },
          {
            stream: 'snapshot:orders',
            shard: 'segment-0',
            sequenceNumber: '{}',
            finished: true,
            iteratorAgeSeconds: 0,
            trimHeadroomSeconds: 86_400,
          },
        ],
        groups: [
          {
            group: 'd-rollups',
            lag: 1200,
            partitions: [{ group: 'd-rollups', topic: 't', partition: 0, committed: '5', end: '1205', lag: 1200 }],
          },
        ],
        deadLetters: 3,
      },
    ],
  };
  const previous = structuredClone(report);
  previous.pipelines[0]!.groups[0]!.lag = 1500;
  assert.deepEqual(statusLines(report, previous, 1), [
    'demo (pid 42, since 10:00:00, http 127.0.0.1:9464): NOT READY',
    '  group d-rollups: not ready (failing for 61 s: ECONNREFUSED)',
    '',
    '  stream                                 shard      iterator age  trim headroom  state',
    '  orders stream 2026-11-26T14:32:35.325  shardId-1           1 s      23 h 53 m  reading',
    '  snapshot:orders                        segment-0                               finished',
    '',
    '  group        lag  partitions  ready      progress',
    '  d-rollups  1,200           1  NOT READY  300/s, ~4 s left',
    '',
    '  dead letters: 3 (npx shardline dlq list)',
  ]);
});
