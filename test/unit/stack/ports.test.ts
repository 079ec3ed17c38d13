import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { assertPortsFree } from '../../../stack/ports.ts';

test('a server is not started on a port another process holds; the error names the service and the port', async () => {
  const other = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => other.once('listening', resolve));
  const { port } = other.address() as AddressInfo;
  await assert.rejects(
    assertPortsFree('opensearch', [port]),
    new RegExp(`opensearch: port ${port} is in use by a process this stack did not start`),
  );
  await new Promise((resolve) => other.close(resolve));
  await assertPortsFree('opensearch', [port]);
});
