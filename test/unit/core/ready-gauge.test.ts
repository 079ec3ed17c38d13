import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startHttp } from '../../../core/http.ts';

test("/metrics exports shardline_ready{part} 1 or 0 from the parts' health; /ready answers 503 naming the part", async () => {
  const server = await startHttp({
    host: '127.0.0.1',
    port: 0,
    health: () => [
      { part: 'connector orders', ready: true },
      { part: 'group g-rollups', ready: false, detail: 'failing for 75 s: ECONNREFUSED' },
    ],
  });
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^shardline_ready\{part="connector orders"\} 1$/m);
    assert.match(metrics, /^shardline_ready\{part="group g-rollups"\} 0$/m);
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /^group g-rollups: not ready \(failing for 75 s: ECONNREFUSED\)$/m);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
