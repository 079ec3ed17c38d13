import { connect } from 'node:net';

/** True when something accepts connections on the local port. */
export function portAnswers(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Refuses to start a server whose ports another process holds: the readiness probe would otherwise
 * talk to that process and call the stack ready while the new server fails to bind.
 */
export async function assertPortsFree(service: string, ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await portAnswers(port)) {
      throw new Error(
        `${service}: port ${port} is in use by a process this stack did not start (a server left from an earlier run, or another one). ` +
          `Find it with \`ss -ltnp | grep :${port}\` and stop it, or use it instead by setting the service's SHARDLINE_* endpoint variable.`,
      );
    }
  }
}
