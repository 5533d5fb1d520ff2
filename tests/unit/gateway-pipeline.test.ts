/**
 * The gateway's request pipeline over both transports, with no service running: the real
 * gateway (createGateway: Apollo over HTTP, graphql-ws over WebSocket, auth, limits, rate limits,
 * error formatting) built from stand-in services. Each policy must answer the same code whichever
 * transport carried the operation.
 */
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signToken } from '../../src/auth/sign.js';
import { createAggregatePrivacy } from '../../src/auth/privacy.js';
import { loadConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/gateway/app.js';
import type { GatewayServices } from '../../src/resolvers/context.js';
import { createHealthService } from '../../src/health/health.service.js';
import { createLogger } from '../../src/logger.js';
import { createGatewayMetrics } from '../../src/metrics/gateway.metrics.js';
import { TrinoError } from '../../src/trino/index.js';
import { ErrorCode } from '../../src/errors.js';

const SECRET = 'pipeline-test-secret-pipeline-test-secret';

/** Services a test does not provide fail loudly if the pipeline ever reaches them. */
function standIns(provided: Partial<GatewayServices>): GatewayServices {
  return new Proxy(provided, {
    get(target, name: string) {
      if (name in target) return target[name as keyof GatewayServices];
      return new Proxy(
        {},
        {
          get: (_t, method: string) => () => {
            throw new Error(`stand-in service ${name}.${method} was called`);
          },
        },
      );
    },
  }) as GatewayServices;
}

interface FormattedError {
  message: string;
  extensions?: { code?: string };
}
interface FormattedResult {
  data?: Record<string, unknown> | null;
  errors?: readonly FormattedError[];
}

interface Reply {
  data?: Record<string, unknown> | null;
  codes: string[];
  messages: string[];
}

describe('request pipeline over HTTP and graphql-ws, no services running', () => {
  const config = loadConfig({
    NODE_ENV: 'production',
    AUTH_JWT_SECRET: SECRET,
    LOG_LEVEL: 'silent',
    PORT: '0',
    GRAPHQL_MAX_DEPTH: '2',
    RATE_LIMIT_PER_SECOND: '0.001',
    RATE_LIMIT_BURST: '6',
    FLINK_HEARTBEAT_INTERVAL_MS: '0',
  });
  const logger = createLogger(config, 'pipeline-test');
  let gateway: Gateway;
  let url: string;
  const clients: Client[] = [];
  let subjects = 0;
  /** A token for a subject of its own: the rate limit is per subject, and only one test tests it. */
  const tokenFor = (roles: string[], sub = `subject-${(subjects += 1)}`): Promise<string> =>
    signToken({ sub, roles }, { secret: SECRET });
  let leaderboardCalls = 0;

  beforeAll(async () => {
    const services = standIns({
      metrics: createGatewayMetrics({ logger }),
      health: createHealthService([{ name: 'stand-in', check: async () => 'fine' }]),
      privacy: createAggregatePrivacy(config.privacy),
      live: { completeAll: () => undefined } as unknown as GatewayServices['live'],
      trino: {
        cohortStats: async () => {
          throw new TrinoError(ErrorCode.TRINO_BUSY, 'The analytics engine is busy.', { retriable: true });
        },
        leaderboard: async () => {
          leaderboardCalls += 1;
          throw new Error('connection string postgres://secret@db leaked');
        },
      } as unknown as GatewayServices['trino'],
    });
    gateway = createGateway({
      config,
      logger,
      services: { services, start: async () => undefined, stop: async () => undefined },
    });
    ({ url } = await gateway.start());
  });

  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await gateway.stop();
  });

  async function overHttp(query: string, token?: string): Promise<Reply> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as {
      data?: Record<string, unknown>;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
    return {
      data: body.data ?? null,
      codes: (body.errors ?? []).map((e) => e.extensions?.code ?? '?'),
      messages: (body.errors ?? []).map((e) => e.message),
    };
  }

  async function overWs(query: string, token?: string): Promise<Reply | { closed: number }> {
    let closedWith: number | undefined;
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
      on: { closed: (e) => (closedWith = (e as { code: number }).code) },
    });
    clients.push(client);
    try {
      // graphql-ws answers a request it refuses before execution with an `error` message (the
      // client's sink.error gets the errors), and one that ran with `next` then `complete`.
      const result = await new Promise<FormattedResult>((resolve, reject) => {
        let last: FormattedResult | undefined;
        client.subscribe(
          { query },
          {
            next: (r) => (last = r),
            error: (e) => (Array.isArray(e) ? resolve({ errors: e as FormattedError[] }) : reject(e)),
            complete: () => resolve(last ?? {}),
          },
        );
      });
      return {
        data: result.data ?? null,
        codes: (result.errors ?? []).map((e) => String(e.extensions?.code ?? '?')),
        messages: (result.errors ?? []).map((e) => e.message),
      };
    } catch {
      return { closed: closedWith ?? -1 };
    }
  }

  const transports = [
    ['HTTP', overHttp],
    ['graphql-ws', overWs],
  ] as const;

  it.each(transports)(
    '%s: a caller without a token is refused as UNAUTHENTICATED (WebSocket: closed 4401)',
    async (name, send) => {
      const reply = await send('{ health { name } }');
      if (name === 'HTTP') expect((reply as Reply).codes).toEqual(['UNAUTHENTICATED']);
      else expect(reply).toEqual({ closed: 4401 });
    },
  );

  it.each(transports)('%s: a valid token reaches the service', async (_name, send) => {
    const reply = (await send('{ health { name ok } }', await tokenFor(['analyst']))) as Reply;
    expect(reply.codes).toEqual([]);
    expect(reply.data).toEqual({ health: [{ name: 'stand-in', ok: true }] });
  });

  it.each(transports)(
    '%s: a root field the role may not use is FORBIDDEN before any service runs',
    async (_name, send) => {
      const reply = (await send(
        '{ series(userId: "bob", metric: HEART_RATE, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", bucket: HOUR) { time } }',
        await tokenFor(['user'], 'alice'),
      )) as Reply;
      expect(reply.codes).toEqual(['FORBIDDEN']);
      expect(reply.data ?? null).toBeNull();
    },
  );

  it.each(transports)(
    '%s: a query deeper than GRAPHQL_MAX_DEPTH is refused with QUERY_TOO_DEEP',
    async (_name, send) => {
      const reply = (await send(
        '{ pipelineStatus { consumerGroups { partitions { lag } } } }',
        await tokenFor(['admin']),
      )) as Reply;
      expect(reply.codes, JSON.stringify(reply)).toContain('QUERY_TOO_DEEP');
    },
  );

  it.each(transports)("%s: a service's typed error keeps its code", async (_name, send) => {
    const reply = (await send(
      '{ cohortStats(metric: HEART_RATE, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", bucket: HOUR) { time } }',
      await tokenFor(['analyst']),
    )) as Reply;
    expect(reply.codes).toEqual(['TRINO_BUSY']);
  });

  it.each(transports)('%s: an unexpected error is masked outside development', async (_name, send) => {
    const before = leaderboardCalls;
    const reply = (await send(
      '{ leaderboard(metric: STEPS, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") { rank } }',
      await tokenFor(['analyst']),
    )) as Reply;
    expect(leaderboardCalls, JSON.stringify(reply)).toBe(before + 1);
    expect(reply.codes).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(reply.messages.join(' ')).not.toContain('postgres://');
  });

  it('one rate limit per subject, counted across both transports', async () => {
    // Burst of 6 for the subject `limited`, nearly no refill: 3 over each transport pass, then both refuse.
    const limited = await tokenFor(['analyst']);
    const replies: Reply[] = [];
    for (let i = 0; i < 4; i += 1) {
      replies.push(await overHttp('{ health { name } }', limited));
      replies.push((await overWs('{ health { name } }', limited)) as Reply);
    }
    const codes = replies.map((r) => r.codes[0] ?? 'ok');
    expect(codes.slice(0, 6)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(codes.slice(6)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
  });
});
