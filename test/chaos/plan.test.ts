import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faultPlan } from './plan.ts';

test('fault plan: a run of two minutes or more has a gap with the connector away, then one with it stalled; longer runs one every 4 minutes', () => {
  const gaps = (minutes: number) => faultPlan({ seed: 4242, durationMs: minutes * 60_000, poisonOrders: 4, stackOutages: false })
    .flatMap((fault) => (fault.kind === 'gap' ? [[fault.at, fault.mode] as const] : []));
  assert.deepEqual(gaps(1).map(([, mode]) => mode), ['away']);
  assert.deepEqual(gaps(2.5), [[50_000, 'away'], [100_000, 'stalled']]);
  assert.deepEqual(gaps(14).map(([at, mode]) => [at / 1000, mode]), [[280, 'away'], [560, 'stalled'], [800, 'away']]);
});
