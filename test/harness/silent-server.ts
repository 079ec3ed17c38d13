import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before } from 'node:test';

/**
 * A server that takes every connection and request and never answers (a stalled endpoint), started before the
 * test file's tests and closed after them; its `url` is known once they run. `greet`, when given, answers on each
 * connection what a server says before it stalls (a frozen server whose connections stay open).
 */
export function silentServer(greet?: (socket: Socket) => void): { readonly url: string; readonly connections: number } {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (greet) greet(socket);
    else socket.resume();
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
    get connections() {
      return connections;
    },
  };
}
