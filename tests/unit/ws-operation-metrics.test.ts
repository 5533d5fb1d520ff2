/**
 * A GraphQL operation over graphql-ws is counted and logged as one over HTTP is: the gateway's
 * operation histogram (its `_count` is the operation counter in /metrics) moves for a query, a
 * subscription and a refused document. A real HTTP server and a real graphql-ws client on a free
 * port; the schema is a small one, so nothing behind the gateway is needed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { attachLiveWebSocket, type LiveWebSocket } from '../../src/live/ws-server.js';
import { createGatewayMetrics, type GatewayMetrics } from '../../src/metrics/gateway.metrics.js';
import { operationRecorder } from '../../src/metrics/operation.record.js';

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString, resolve: () => 'world' } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      ticks: {
        type: GraphQLInt,
        subscribe: async function* () {
          yield { ticks: 1 };
          yield { ticks: 2 };
        },
      },
    },
  }),
});

const logger = pino({ level: 'silent' });
let server: Server;
let live: LiveWebSocket;
let metrics: GatewayMetrics;
let client: Client;

beforeAll(async () => {
  server = createServer();
  metrics = createGatewayMetrics({ logger });
  live = attachLiveWebSocket({
    httpServer: server,
    path: '/graphql',
    schema,
    logger,
    context: () => ({}),
    keepAliveMs: 0,
    maxPayloadBytes: 65_536,
    development: false,
    completeAll: () => undefined,
    onOperation: operationRecorder(metrics, logger),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
});

afterAll(async () => {
  await client?.dispose();
  await live?.dispose();
  await new Promise((resolve) => server?.close(resolve));
});

async function run(query: string): Promise<{ data: unknown[]; errors: unknown[] }> {
  const data: unknown[] = [];
  const errors: unknown[] = [];
  await new Promise<void>((resolve) => {
    client.subscribe(
      { query },
      {
        next: (r) => data.push(r.data),
        error: (e) => {
          errors.push(e);
          resolve();
        },
        complete: resolve,
      },
    );
  });
  return { data, errors };
}

async function count(type: string, outcome: string): Promise<number> {
  const text = await metrics.registry.metrics();
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('fitbit_graphql_operation_duration_seconds_count') &&
        l.includes(`type="${type}"`) &&
        l.includes(`outcome="${outcome}"`),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

// A bound on a hung connection, not a speed check: a busy machine may take seconds to connect.
describe('graphql-ws operations in /metrics', { timeout: 30_000 }, () => {
  it('a query over WebSocket moves the operation counter', async () => {
    const before = await count('query', 'ok');
    expect((await run('query Hello { hello }')).data).toEqual([{ hello: 'world' }]);
    await expect.poll(() => count('query', 'ok')).toBe(before + 1);
  });

  it('a subscription is counted once, when it starts', async () => {
    const before = await count('subscription', 'ok');
    expect((await run('subscription { ticks }')).data).toEqual([{ ticks: 1 }, { ticks: 2 }]);
    await expect.poll(() => count('subscription', 'ok')).toBe(before + 1);
  });

  it('a document that does not validate is counted as invalid', async () => {
    const before = await count('unknown', 'invalid');
    const { errors } = await run('{ nope }');
    expect(errors).toHaveLength(1);
    await expect.poll(() => count('unknown', 'invalid')).toBe(before + 1);
  });
});
