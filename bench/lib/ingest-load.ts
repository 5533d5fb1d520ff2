/**
 * The ingest load both ingest benchmarks use: `clients` loops posting prepared `ingestReadings`
 * (or `ingestSeries`) bodies over keep-alive HTTP, client c talking to gateway c % ports.length.
 */
import { createJsonClient } from './http-client.js';
import { summarize } from './util.js';

const MUTATION = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted}}';
const SERIES_MUTATION =
  'mutation($u:ID!,$d:String,$t:[DateTime!]!,$v:[Float!]!){ingestSeries(userId:$u,metric:HEART_RATE,deviceId:$d,times:$t,values:$v){accepted}}';
/** The device of every series in the benchmark. */
export const SERIES_DEVICE = 'charge6-1';

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

/**
 * Series k: one user's `batch` heart-rate readings, a millisecond apart, an hour in the past (the
 * readings of readingBatch(k), all given to one user, as a phone syncing a device sends them).
 */
export function seriesBatch(k: number, batch: number, base = Date.now() - 3_600_000): ReadingRow[] {
  const userId = `bench-user-${(k * 131) % 1000}`;
  return readingBatch(k, batch, base).map((r) => ({ ...r, userId }));
}

/** `ingestSeries` request bodies of seriesBatch(k), prepared up front. */
export function seriesBodies(count: number, batch: number): string[] {
  const base = Date.now() - 3_600_000;
  return Array.from({ length: count }, (_, k) => {
    const rows = seriesBatch(k, batch, base);
    return JSON.stringify({
      query: SERIES_MUTATION,
      variables: { u: rows[0]!.userId, d: SERIES_DEVICE, t: rows.map((r) => r.time), v: rows.map((r) => r.value) },
    });
  });
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
}): Promise<{
  perSecond: number;
  requests: number;
  latencyMs: ReturnType<typeof summarize>;
  /** What was measured, for callers that add several runs up. */
  accepted: number;
  seconds: number;
  latencies: number[];
}> {
  const { ports, clients, seconds, bodies } = opts;
  const http = ports.map((port) => createJsonClient({ port, maxSockets: clients, headers: opts.headers }));
  const post = async (g: number, body: string): Promise<number> => {
    const { body: json } = await http[g]!.post<{ data?: Record<string, { accepted: number }>; errors?: unknown }>(body);
    // The one mutation field of the body, ingestReadings or ingestSeries.
    const result = json.data ? Object.values(json.data)[0] : undefined;
    if (!result) throw new Error(`mutation failed: ${JSON.stringify(json.errors)}`);
    return result.accepted;
  };
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
  for (const c of http) c.close();
  return {
    perSecond: accepted / elapsed,
    requests: latencies.length,
    latencyMs: summarize(latencies),
    accepted,
    seconds: elapsed,
    latencies,
  };
}
