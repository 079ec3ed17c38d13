import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricsRegistry } from '../../../core/metrics.ts';
import { Progress } from '../../../core/progress.ts';

/** A terminal that keeps what is written to it. */
const terminal = () => {
  const written: string[] = [];
  return {
    written,
    out: { isTTY: true, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream,
  };
};

test('progress shows done of total, rate and time left, redrawn on one terminal line, and as metrics', async () => {
  let now = 0;
  const { written, out } = terminal();
  const progress = new Progress('dlq replay', 1000, { out, everyMs: 0, now: () => now });
  now = 2_000;
  progress.advance(250);
  assert.equal(progress.describe(), 'dlq replay: 250 of 1,000 (25%), 125/s, ~6 s left');
  assert.equal(written.at(-1), '\rdlq replay: 250 of 1,000 (25%), 125/s, ~6 s left\x1b[K');
  const metrics = await metricsRegistry.metrics();
  assert.match(metrics, /^shardline_progress_done\{task="dlq replay"\} 250$/m);
  assert.match(metrics, /^shardline_progress_total\{task="dlq replay"\} 1000$/m);
  progress.interrupt();
  assert.equal(written.at(-1), '\r\x1b[K');
  now = 4_000;
  progress.advance(750);
  progress.finish();
  assert.equal(written.at(-2), '\rdlq replay: 1,000 of 1,000 (100%), 250/s\x1b[K');
  assert.equal(written.at(-1), '\n');
});

test('progress with an unknown total shows what is done and the rate', () => {
  let now = 0;
  const progress = new Progress('search reindex order', undefined, { out: terminal().out, now: () => now });
  now = 10_000;
  progress.advance(42);
  assert.equal(progress.describe(), 'search reindex order: 42, 4.2/s');
});
