/**
 * The small HTTP server a process without a GraphQL endpoint (the consumer worker) uses for
 * Prometheus and its orchestrator: /metrics, /healthz (the process is alive) and /readyz (it is
 * started and not shutting down).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathOf } from './request-target.js';

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  metrics(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Alive: the process answers; the detail says its phase. */
  health(): { ok: boolean; detail: Record<string, unknown> };
  ready(): boolean;
}

export interface OpsServer {
  start(): Promise<{ port: number; url: string }>;
  stop(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

export function createOpsServer(options: OpsServerOptions): OpsServer {
  const server = createServer((req, res) => {
    const path = pathOf(req.url);
    if (path === undefined) return json(res, 400, { error: 'the request target is not a URL path' });
    if (req.method !== 'GET') return json(res, 405, { error: 'GET only' });
    switch (path) {
      case '/metrics':
        return void options.metrics(req, res);
      case '/healthz': {
        const h = options.health();
        return json(res, h.ok ? 200 : 503, { status: h.ok ? 'ok' : 'failing', ...h.detail });
      }
      case '/readyz': {
        const ready = options.ready();
        return json(res, ready ? 200 : 503, { ready });
      }
      default:
        return json(res, 404, { error: `no route for ${path.slice(0, 100)}` });
    }
  });
  // Scrapes are short; an idle keep-alive socket must not hold stop() open.
  server.keepAliveTimeout = 5_000;
  return {
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          const { port } = server.address() as AddressInfo;
          resolve({ port, url: `http://${options.host}:${port}` });
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
