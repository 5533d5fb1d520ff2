/**
 * The load generators' HTTP client: JSON POSTs over keep-alive connections with node:http.
 *
 * Not `fetch`: the client shares the machine with what it measures, and undici's web streams cost
 * it about 1 ms more CPU for each 100 KB answer than node:http with the same connections
 * (1.6-2.2 ms against 0.5-1.2 ms a request, 16 clients, on the 2-core machine), CPU the gateway
 * under test then lacks. The pg client on the other side of a ratio has no such tax.
 */
import { Agent, request } from 'node:http';

export interface JsonAnswer<T> {
  /** HTTP status of the answer. */
  status: number;
  /** Length of the answer's text. */
  bytes: number;
  body: T;
}

export interface JsonClient {
  /** POSTs `body` (JSON text) and parses the answer, whatever its status. */
  post<T>(body: string): Promise<JsonAnswer<T>>;
  /** Closes the kept-alive connections. */
  close(): void;
}

export function createJsonClient(options: {
  port: number;
  path?: string;
  /** Connections kept open at most: one per concurrent client. */
  maxSockets: number;
  headers?: Record<string, string>;
}): JsonClient {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const path = options.path ?? '/graphql';
  return {
    post: <T>(body: string) =>
      new Promise<JsonAnswer<T>>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: options.port,
            path,
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              ...options.headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              try {
                resolve({ status: res.statusCode ?? 0, bytes: text.length, body: JSON.parse(text) as T });
              } catch (err) {
                reject(new Error(`answer is not JSON (HTTP ${res.statusCode}): ${text.slice(0, 200)}`, { cause: err }));
              }
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
