import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

test('KafkaJS’s negative-timeout warning is not printed by any process that loads KafkaJS, `stack up` among them', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  for (const first of ['./stack/services/kafka.ts', './core/kafka.ts']) {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        // What KafkaJS's request queue does with its absolute timestamp (tulios/kafkajs#1751); another warning still shows.
        `await import(${JSON.stringify(first)});
         setTimeout(() => {}, -Date.now());
         process.emitWarning('kept', 'OtherWarning');`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /TimeoutNegativeWarning/, first);
    assert.match(run.stderr, /OtherWarning: kept/, first);
  }
});
