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

test('fault plan, connector scaled out: instances killed about as often as one connector, a spare added first, then instances removed and added in turn', () => {
  const plan = faultPlan({ seed: 616, durationMs: 90_000, poisonOrders: 4, stackOutages: false, connectors: 3 });
  const killed = plan.flatMap((fault) => (fault.kind === 'kill' && fault.process.startsWith('connector') ? [fault.process] : []));
  assert.ok(killed.length >= 3 && killed.every((name) => /^connector-[1-4]$/.test(name)), killed.join(' '));
  const steps = plan.flatMap((fault) => (fault.kind === 'scale' ? [fault.change] : []));
  assert.deepEqual(steps.slice(0, 2), ['add', 'remove']);
  assert.ok(steps.every((step, index) => step === (index % 2 === 0 ? 'add' : 'remove')));
  // One connector: the plan as before the scaled-out mode, named `connector`, without scaling steps.
  const single = faultPlan({ seed: 616, durationMs: 90_000, poisonOrders: 4, stackOutages: false });
  assert.ok(single.every((fault) => fault.kind !== 'scale' && (fault.kind !== 'kill' || !fault.process.startsWith('connector-'))));
});
