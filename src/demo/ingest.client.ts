/**
 * How the simulator reaches the gateway: `ingestReadings` over HTTP, as a device's companion app
 * would. A transport failure, an HTTP error or a GraphQL error throws, with the code when there is one.
 */
import { toGraphQLMetric } from '../domain/metrics.js';
import type { SendResult } from './simulator.js';
import type { SimReading } from './signals.js';

const INGEST = `mutation DemoIngest($readings: [ReadingInput!]!) {
  ingestReadings(readings: $readings) { accepted rejected { index code message } }
}`;

interface GraphqlAnswer {
  data?: { ingestReadings?: SendResult } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface IngestClientOptions {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** A bearer token (role device or admin); none in development mode. */
  token?: string | undefined;
  /** Per request. Default 15 000 ms. */
  timeoutMs?: number;
}

export function createIngestClient(options: IngestClientOptions): (readings: SimReading[]) => Promise<SendResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  return async (readings) => {
    const res = await fetch(options.url, {
      method: 'POST',
      headers,
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      body: JSON.stringify({
        query: INGEST,
        variables: {
          readings: readings.map((r) => ({
            userId: r.userId,
            metric: toGraphQLMetric(r.metric),
            time: new Date(r.timeMs).toISOString(),
            value: r.value,
            deviceId: r.deviceId,
          })),
        },
      }),
    });
    let body: GraphqlAnswer;
    try {
      body = (await res.json()) as GraphqlAnswer;
    } catch {
      throw new Error(`the gateway answered HTTP ${res.status} without JSON`);
    }
    const error = body.errors?.[0];
    if (error) throw new Error(`${error.extensions?.code ?? `HTTP ${res.status}`}: ${error.message}`);
    if (!body.data?.ingestReadings) throw new Error(`the gateway answered HTTP ${res.status} without a result`);
    return body.data.ingestReadings;
  };
}
