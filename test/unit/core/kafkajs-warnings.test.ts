import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runModuleScript } from '../../harness/processes.ts';

test('KafkaJS’s negative-timeout warning is not printed by any process that loads KafkaJS, `stack up` among them', () => {
  for (const first of ['./stack/services/kafka.ts', './core/kafka.ts']) {
    // What KafkaJS's request queue does with its absolute timestamp (tulios/kafkajs#1751); another warning still shows.
    const run = runModuleScript(
      `await import(${JSON.stringify(first)});
       setTimeout(() => {}, -Date.now());
       process.emitWarning('kept', 'OtherWarning');`,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /TimeoutNegativeWarning/, first);
    assert.match(run.stderr, /OtherWarning: kept/, first);
  }
});
