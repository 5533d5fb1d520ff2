/**
 * The ingest load both ingest benchmarks use: `clients` loops posting prepared `ingestReadings`
 * bodies over keep-alive HTTP, client c talking to gateway c % ports.length.
 */
import { Agent, request } from 'node:http';
import { summarize } from './util.js';

const MUTATION = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted}}';

export interface ReadingRow {
  userId: string;
  metric: 'HEART_RATE';
  time: string;
  value: number;
}

/** Batch k of `batch` heart-rate readings over 1,000 users, an hour in the past. */
export function readingBatch(k: number, batch: number, base = Date.now() - 3_600_000): ReadingRow[] {
  return Array.from({ length: batch }, (_, i) => ({
    userId: `bench-user-${(k * 131 + i) % 1000}`,
    metric: 'HEART_RATE',
    time: new Date(base + k * batch + i).toISOString(),
    value: 60 + (i % 40),
  }));
}

/** Request bodies prepared up front, so the load generator spends its CPU on sending, not on JSON. */
export function mutationBodies(count: number, batch: number): string[] {
  const base = Date.now() - 3_600_000;
  return Array.from({ length: count }, (_, k) =>
    JSON.stringify({ query: MUTATION, variables: { r: readingBatch(k, batch, base) } }),
  );
}

export async function ingestLoad(opts: {
  ports: number[];
  clients: number;
  seconds: number;
  bodies: string[];
  headers?: Record<string, string>;
}): Promise<{ perSecond: number; requests: number; latencyMs: ReturnType<typeof summarize> }> {
  const { ports, clients, seconds, bodies } = opts;
  const agents = ports.map(() => new Agent({ keepAlive: true, maxSockets: clients }));
  const post = (g: number, body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: ports[g],
          path: '/graphql',
          method: 'POST',
          agent: agents[g],
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const json = JSON.parse(Buffer.concat(chunks).toString()) as {
              data?: { ingestReadings: { accepted: number } };
              errors?: unknown;
            };
            if (!json.data) reject(new Error(`mutation failed: ${JSON.stringify(json.errors)}`));
            else resolve(json.data.ingestReadings.accepted);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  // Warm-up: JIT, connections, Kafka metadata, on every gateway.
  await Promise.all(Array.from({ length: clients }, (_, c) => post(c % ports.length, bodies[c % bodies.length]!)));
  let accepted = 0;
  const latencies: number[] = [];
  const deadline = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let k = c;
      while (Date.now() < deadline) {
        const t = performance.now();
        // Awaited first: `accepted += await ...` would read `accepted` before the wait and lose the other clients' additions.
        const n = await post(c % ports.length, bodies[k % bodies.length]!);
        accepted += n;
        latencies.push(performance.now() - t);
        k += clients;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  for (const a of agents) a.destroy();
  return { perSecond: accepted / elapsed, requests: latencies.length, latencyMs: summarize(latencies) };
}
