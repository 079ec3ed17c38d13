import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { resolvesWithin } from '../../../core/resolves-within.ts';

test('resolvesWithin: true for a promise that resolves in time, false for one that rejects or is late', async () => {
  assert.equal(await resolvesWithin(sleep(5), 1_000), true);
  assert.equal(await resolvesWithin(Promise.reject(new Error('refused')), 1_000), false);
  assert.equal(await resolvesWithin(new Promise(() => undefined), 20), false);
});
