import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineStatus, StatusReport } from '../../../cli/commands/status.ts';
import { statusLines } from '../../../cli/commands/status-view.ts';

/** The report of a configured pipeline (no process found) with these shards. */
const configuredReport = (shards: PipelineStatus['shards'], ready?: boolean): StatusReport => ({
  shards: [],
  shardLag: [],
  groups: [],
  deadLetters: 0,
  pipelines: [{ source: 'config', ready, parts: [], shards, groups: [], deadLetters: 0 }],
});

test("scaled out, the status screen names each shard's unit and the instance that reads it", () => {
  const report = configuredReport(
    [
      {
        stream: 'orders-kds',
        shard: 'shardId-000000000000',
        sequenceNumber: '9',
        finished: true,
        unit: 3,
        owner: 'host-a:101',
      },
      {
        stream: 'orders-kds',
        shard: 'shardId-000000000008',
        sequenceNumber: '12',
        finished: false,
        iteratorAgeSeconds: 2,
        trimHeadroomSeconds: 86_398,
        unit: 5,
        owner: 'host-b:202',
      },
      { stream: 'orders-kds', shard: 'shardId-000000000009', sequenceNumber: '4', finished: false, unit: 6 },
    ],
    true,
  );
  assert.deepEqual(statusLines(report).slice(1, 6), [
    '',
    '  stream      shard                 iterator age  trim headroom  state     unit  owner',
    '  orders-kds  shardId-000000000000                               finished     3  host-a:101',
    '  orders-kds  shardId-000000000008           2 s      23 h 59 m  reading      5  host-b:202',
    '  orders-kds  shardId-000000000009                               reading      6  rebalancing',
  ]);
});

test('with no process found, an unfinished shard nobody reports on is "not finished", not "reading"', () => {
  const report = configuredReport([
    { stream: 'orders-kds', shard: 'shardId-000000000000', sequenceNumber: '9', finished: true },
    { stream: 'orders-kds', shard: 'shardId-000000000001', sequenceNumber: '12', finished: false },
    {
      stream: 'orders-kds',
      shard: 'shardId-000000000002',
      sequenceNumber: '4',
      finished: false,
      iteratorAgeSeconds: 3,
      trimHeadroomSeconds: 86_397,
    },
  ]);
  assert.deepEqual(statusLines(report).slice(2, 6), [
    '  stream      shard                 iterator age  trim headroom  state',
    '  orders-kds  shardId-000000000000                               finished',
    '  orders-kds  shardId-000000000001                               not finished',
    '  orders-kds  shardId-000000000002           3 s      23 h 59 m  reading',
  ]);
  const running = { ...report.pipelines[0]!, source: 'process' as const, pid: 7, command: 'connector' };
  assert.match(statusLines({ ...report, pipelines: [running] })[4]!, /shardId-000000000001 +reading$/);
});
