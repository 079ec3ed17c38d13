import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { DiscoveringConnector } from '../../../connector/discovery/discovering-connector.ts';
import type { PeriodicDiscovery } from '../../../connector/discovery/periodic.ts';

test("a discovery failing for good stops the connector; that stop's own failure is no unhandled rejection", async (t) => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  t.after(() => process.off('unhandledRejection', record));
  let failDiscovery: (error: Error) => void = () => undefined;
  const discovery = {
    start: async () => undefined,
    stop: async () => undefined,
    failed: new Promise<never>((_resolve, reject) => (failDiscovery = reject)),
  } as unknown as PeriodicDiscovery;
  let stops = 0;
  const connector = {
    start: () => new Promise<void>(() => undefined), // runs until stopped
    stop: async () => {
      stops++;
      throw new Error('the producer could not disconnect');
    },
    failed: new Promise<never>(() => undefined),
    health: () => ({ part: 'connector', ready: true }),
    addSources: () => undefined,
  };
  const discovering = new DiscoveringConnector(connector, discovery);
  const started = discovering.start();
  await sleep(10);
  failDiscovery(new Error('table discovery was refused'));
  await assert.rejects(started, /table discovery was refused/);
  await sleep(50);
  assert.equal(stops, 1);
  assert.deepEqual(unhandled, []);
});
