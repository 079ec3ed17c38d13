import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Gauge } from 'prom-client';
import type { PartHealth } from './health.ts';
import { metricsRegistry } from './metrics.ts';

export interface HttpOptions {
  host: string;
  port: number;
  /** Each part of the process (connector, groups): ready once it does its work and while it is not stuck. */
  health: () => PartHealth[];
  /** Read-only SQL against the process's ClickHouse, as JSON lines: embedded ClickHouse answers other processes only through here. */
  query?: (sql: string) => Promise<string>;
}

const MAX_QUERY_BYTES = 64 * 1024;

/** Readiness as a metric, so alerts see a part that is not ready without probing /ready. */
export const readyGauge = new Gauge({
  name: 'shardline_ready',
  help: 'Whether a part of the process (the connector, a group) is ready: 1, or 0',
  labelNames: ['part'],
  registers: [metricsRegistry],
});

function recordReadiness(parts: PartHealth[]): void {
  readyGauge.reset();
  for (const part of parts) readyGauge.set({ part: part.part }, part.ready ? 1 : 0);
}

function send(response: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': type });
  response.end(body);
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_QUERY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Metrics (/metrics), liveness (/health), readiness (/ready: 200 when every part is ready, else 503
 * naming the parts that are not) and read-only SQL (/query, POST, body = SQL, answered as JSON lines).
 */
export function startHttp(options: HttpOptions): Promise<Server> {
  const server = createServer((request, response) => {
    void (async () => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method === 'GET' && path === '/metrics') {
        recordReadiness(options.health());
        return send(response, 200, await metricsRegistry.metrics(), metricsRegistry.contentType);
      }
      if (request.method === 'GET' && path === '/health') return send(response, 200, 'ok\n');
      if (request.method === 'GET' && path === '/ready') {
        const parts = options.health();
        const lines = parts.map(
          (part) => `${part.part}: ${part.ready ? 'ready' : `not ready${part.detail ? ` (${part.detail})` : ''}`}`,
        );
        const ready = parts.length > 0 && parts.every((part) => part.ready);
        return send(response, ready ? 200 : 503, `${ready ? 'ready' : 'not ready'}\n${lines.join('\n')}\n`);
      }
      if (path === '/query') {
        if (request.method !== 'POST') return send(response, 405, 'POST the SQL as the request body\n');
        if (!options.query) return send(response, 404, 'this process has no ClickHouse\n');
        const sql = await readBody(request);
        if (sql === undefined) return send(response, 413, `queries are limited to ${MAX_QUERY_BYTES} bytes\n`);
        if (!sql.trim()) return send(response, 400, 'empty query\n');
        try {
          return send(response, 200, await options.query(sql), 'application/x-ndjson');
        } catch (error) {
          return send(response, 400, `${(error as Error).message}\n`);
        }
      }
      send(response, 404, 'not found\n');
    })().catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, `${(error as Error).message}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
