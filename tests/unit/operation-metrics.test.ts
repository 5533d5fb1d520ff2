/**
 * Both transports report an operation through the one recorder: the same series of
 * `fitbit_graphql_operation_duration_seconds` in /metrics, told apart by `transport`, and the same
 * `graphql operation` log line. A real HTTP server, the real graphql-ws server and a real client,
 * over a small schema, so no service needs to run.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import {
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLFieldConfig,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { attachLiveWebSocket, type LiveWebSocket } from '../../src/gateway/ws-server.js';
import type { Logger } from '../../src/logger.js';
import { createGatewayMetrics, type GatewayMetrics } from '../../src/metrics/gateway.metrics.js';
import { operationPlugin } from '../../src/metrics/operation.plugin.js';
import { createOperationRecorder } from '../../src/metrics/operation.recorder.js';
import { sample } from '../integration/metrics.fixtures.js';
import { loadConfig } from '../../src/config.js';
import { createLimits } from '../../src/limits/index.js';
import { createOperationPipeline } from '../../src/operation/pipeline.js';

const ticks: GraphQLFieldConfig<unknown, unknown> = {
  type: new GraphQLNonNull(GraphQLInt),
  subscribe: async function* () {
    yield { ticks: 1 };
    yield { ticks: 2 };
  },
};

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: { type: GraphQLString, resolve: () => 'world' },
      broken: {
        type: GraphQLString,
        resolve: () => {
          throw new Error('resolver failed');
        },
      },
    },
  }),
  subscription: new GraphQLObjectType({ name: 'Subscription', fields: { ticks } }),
});

/** Log lines as objects, so the test can read what the recorder wrote. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink) as unknown as Logger, lines };
}

let httpServer: Server;
let liveWs: LiveWebSocket;
let apollo: ApolloServer<{ requestId: string }>;
let metrics: GatewayMetrics;
let lines: Record<string, unknown>[];
let baseUrl: string;
let client: Client;

beforeAll(async () => {
  const captured = capturingLogger();
  lines = captured.lines;
  metrics = createGatewayMetrics({ logger: captured.logger });
  const record = createOperationRecorder({ metrics, logger: captured.logger });
  apollo = new ApolloServer<{ requestId: string }>({ schema, plugins: [operationPlugin({ record })] });
  await apollo.start();
  httpServer = createServer((req, res) => {
    if (req.url === '/metrics') void metrics.handle(req, res);
    else res.writeHead(404).end();
  });
  const pipeline = createOperationPipeline({
    schema,
    limits: createLimits(loadConfig({}).limits),
    maxTokens: 0,
    introspection: true,
    hotFields: new Set(),
    errorFormat: { development: false, hideSchemaDetails: false },
    record,
  });
  liveWs = attachLiveWebSocket({
    httpServer,
    path: '/graphql',
    pipeline,
    logger: captured.logger,
    context: () => ({ requestId: 'ws-request' }),
    keepAliveMs: 0,
    maxPayloadBytes: 64 * 1024,
    development: false,
    completeAll: () => undefined,
  });
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  const { port } = httpServer.address() as AddressInfo;
  baseUrl = `127.0.0.1:${port}`;
  client = createClient({ url: `ws://${baseUrl}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
});

afterAll(async () => {
  await client?.dispose();
  await liveWs?.dispose();
  await apollo?.stop();
  await new Promise<void>((resolve) => httpServer.close(() => resolve()));
});

const scrape = async (): Promise<string> => (await fetch(`http://${baseUrl}/metrics`)).text();
const SERIES = 'fitbit_graphql_operation_duration_seconds_count';

/** Runs one operation over graphql-ws and returns every result it sent and how it ended. */
async function overWs(query: string, operationName?: string): Promise<{ results: unknown[]; error?: unknown }> {
  const results: unknown[] = [];
  return new Promise((resolve) => {
    client.subscribe(
      { query, ...(operationName ? { operationName } : {}) },
      {
        next: (r) => void results.push(r),
        error: (error) => resolve({ results, error }),
        complete: () => resolve({ results }),
      },
    );
  });
}

describe('operation metrics on both transports', () => {
  it('a subscription over graphql-ws moves the operation counter with transport="ws"', async () => {
    const before = await scrape();
    const { results, error } = await overWs('subscription WsTicks { ticks }');
    expect(error).toBeUndefined();
    expect(results).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }]);
    const after = await scrape();
    const labels = { operation: 'WsTicks', type: 'subscription', outcome: 'ok', transport: 'ws' };
    expect(sample(after, SERIES, labels) - sample(before, SERIES, labels)).toBe(1);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'graphql operation', transport: 'ws', operation: 'WsTicks', outcome: 'ok' }),
    );
  });

  it('a query over graphql-ws is counted like one over HTTP, each under its transport', async () => {
    const before = await scrape();
    const ws = await overWs('query Hello { hello }');
    expect(ws.results).toEqual([{ data: { hello: 'world' } }]);
    const http = await apollo.executeOperation(
      { query: 'query Hello { hello }' },
      { contextValue: { requestId: 'h' } },
    );
    expect(http.body.kind === 'single' && http.body.singleResult.data).toEqual({ hello: 'world' });
    const after = await scrape();
    for (const transport of ['ws', 'http']) {
      const labels = { operation: 'Hello', type: 'query', outcome: 'ok', transport };
      expect(sample(after, SERIES, labels) - sample(before, SERIES, labels), transport).toBe(1);
    }
    // The same log line from the same recorder, the request id included.
    const hello = lines.filter((l) => l['msg'] === 'graphql operation' && l['operation'] === 'Hello');
    expect(hello.map((l) => [l['transport'], l['requestId'], l['type'], l['outcome']])).toEqual([
      ['ws', 'ws-request', 'query', 'ok'],
      ['http', 'h', 'query', 'ok'],
    ]);
  });

  it('counts errors and invalid documents over graphql-ws with the outcomes of HTTP', async () => {
    const before = await scrape();
    const broken = await overWs('query WsBroken { broken }');
    expect(broken.results).toHaveLength(1);
    const invalid = await overWs('query WsInvalid { nope }', 'WsInvalid');
    expect(invalid.error).toBeDefined();
    const after = await scrape();
    const delta = (labels: Record<string, string>) => sample(after, SERIES, labels) - sample(before, SERIES, labels);
    expect(delta({ operation: 'WsBroken', type: 'query', outcome: 'error', transport: 'ws' })).toBe(1);
    expect(delta({ operation: 'WsInvalid', type: 'unknown', outcome: 'invalid', transport: 'ws' })).toBe(1);
    expect(lines).toContainEqual(
      expect.objectContaining({ operation: 'WsBroken', codes: ['INTERNAL_SERVER_ERROR'], level: 50 }),
    );
  });
});
