import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoScreenLines } from '../../../cli/demo/screen.ts';
import type { PipelineSample } from '../../../cli/demo/pipeline-sample.ts';
import { LiveScreen } from '../../../cli/screen.ts';

const sample = (
  at: number,
  eventsIn: number,
  applied: number,
  lag: number,
  delaySum: number,
  delayCount: number,
): PipelineSample => ({
  at,
  eventsIn,
  groups: new Map([['shardline-demo-x-rollups', { applied, lag, delaySum, delayCount }]]),
  deadLetters: 1,
});

test('the demo screen says what the pipeline does: events a second in and out, lag, end-to-end delay of the latest changes, dead letters', () => {
  const lines = demoScreenLines({
    groupNames: new Map([['shardline-demo-x-rollups', 'rollups']]),
    before: sample(0, 100, 90, 10, 45, 90),
    now: sample(2_000, 140, 130, 4, 53, 130),
    workload: { operations: 1234, orders: 56 },
    sales: [
      { day: '2026-11-01', category: 'books', order_count: '3', revenue: '45.50' },
      { day: '2026-11-02', category: 'garden', order_count: '12', revenue: '1203.00' },
    ],
    salesRows: 14,
    parts: [
      { part: 'connector demo', ready: false, detail: 'failing for 61 s: ECONNREFUSED 127.0.0.1:8081' },
      { part: 'group x-rollups', ready: true },
    ],
  });
  assert.deepEqual(lines, [
    'Shardline demo · 1,234 operations on 56 live orders · events in 20/s (140 written) · dead letters 1',
    'NOT READY connector demo: failing for 61 s: ECONNREFUSED 127.0.0.1:8081',
    '',
    'group    applied/s  applied  lag  end-to-end',
    'rollups         20      130    4      0.20 s',
    '',
    'daily_sales (latest days):',
    'day         category  order_count  revenue',
    '2026-11-01  books               3    45.50',
    '2026-11-02  garden             12  1203.00',
  ]);
});

test('on a terminal a frame overwrites the last in place; elsewhere frames follow each other as plain lines', () => {
  const written: string[] = [];
  const out = {
    isTTY: true,
    columns: 80,
    write: (text: string) => written.push(text),
  } as unknown as NodeJS.WriteStream;
  const screen = new LiveScreen(out);
  screen.draw(['a', 'b']);
  screen.draw(['c']);
  screen.close();
  assert.deepEqual(written, ['\x1b[2J\x1b[H\x1b[?25la\x1b[K\nb\x1b[K\n\x1b[J', '\x1b[Hc\x1b[K\n\x1b[J', '\x1b[?25h']);
  const plain: string[] = [];
  const pipe = new LiveScreen({
    isTTY: false,
    write: (text: string) => plain.push(text),
  } as unknown as NodeJS.WriteStream);
  pipe.draw(['a', 'b']);
  assert.deepEqual(plain, ['a\nb\n\n']);
});
