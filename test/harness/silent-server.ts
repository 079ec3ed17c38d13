import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before } from 'node:test';

/**
 * A server that takes every connection and request and never answers (a stalled endpoint), started before the
 * test file's tests and closed after them; its `url` is known once they run.
 */
export function silentServer(): { readonly url: string } {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  before(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    get url() {
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
  };
}
