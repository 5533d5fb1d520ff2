/**
 * Every limit through a real gateway: each refused request carries the limit's own code, HTTP
 * answers 4xx (never 5xx), and WebSocket limits close or error with theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { signToken } from '../../src/auth/sign.js';
import {
  collectSubscription,
  startLiveGateway,
  WINDOWS_QUERY,
  type LiveGateway,
  type WindowData,
  connectWs,
  type WsConnection,
} from '../helpers/live.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const SECRET = 'limits-secret-0123456789-abcdefghijklmn';
const DAY = 'from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z"';

describe('limits', () => {
  let gw: LiveGateway;
  const clients: Client[] = [];
  let admin: string;

  async function post(body: string, authorization = admin, type = 'application/json') {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': type, authorization }, body });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      json: JSON.parse(text) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] },
    };
  }
  const gql = (query: string, variables?: unknown, authorization?: string) =>
    post(JSON.stringify({ query, variables }), authorization);

  /** Opens a graphql-ws connection, closed in afterAll; `closed` gives the code if the server refuses it. */
  function connect(authorization: string | undefined): WsConnection {
    const conn = connectWs(gw.wsUrl, authorization);
    clients.push(conn.client);
    return conn;
  }

  beforeAll(async () => {
    gw = await startLiveGateway({
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: SECRET,
      GRAPHQL_MAX_DEPTH: '3',
      GRAPHQL_MAX_COST: '5000',
      GRAPHQL_MAX_ALIASES: '5',
      GRAPHQL_MAX_OPERATIONS: '2',
      HTTP_MAX_BODY_BYTES: '200000',
      INGEST_MAX_READINGS: '10',
      LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
      LIVE_MAX_CONNECTIONS_PER_SUBJECT: '2',
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '1000',
    });
    admin = `Bearer ${await signToken({ sub: uniqueId('limits-admin'), roles: ['admin'] }, { secret: SECRET })}`;
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await gw?.stop();
  });

  it('depth, cost, aliases and operations: 400 with their own codes', async () => {
    const cases: [string, string][] = [
      [
        '{ users(ids: ["a"]) { latest(metric: STEPS) { user: userId metric } series(metric: STEPS, ' +
          DAY +
          ', bucket: HOUR) { sum } } }',
        'OK',
      ],
      [`{ series(userId: "u", metric: STEPS, ${DAY}, bucket: SECOND) { sum } }`, 'QUERY_TOO_COMPLEX'],
      [`{ ${Array.from({ length: 6 }, (_, i) => `h${i}: health { name }`).join(' ')} }`, 'TOO_MANY_ALIASES'],
      ['query A { health { name } } query B { health { name } } query C { health { name } }', 'TOO_MANY_OPERATIONS'],
    ];
    for (const [query, expected] of cases) {
      const a = await gql(query, undefined);
      if (expected === 'OK') {
        expect(a.json.errors, query).toBeUndefined();
        continue;
      }
      expect(a.status, query).toBe(400);
      expect(a.json.errors?.[0]?.extensions?.['code'], query).toBe(expected);
    }
    const costly = await gql(`{ series(userId: "u", metric: STEPS, ${DAY}, bucket: SECOND) { sum } }`);
    // Buckets count up to SERIES_MAX_POINTS + 1 (10,001): beyond, the series refuses with TOO_MANY_POINTS itself.
    expect(costly.json.errors?.[0]?.extensions).toMatchObject({ cost: 10_001, limit: 5000 });
  });

  it('depth: an over-deep selection through introspection-free nesting is refused with QUERY_TOO_DEEP', async () => {
    const deepGw = await startLiveGateway({ GRAPHQL_MAX_DEPTH: '2' });
    try {
      const res = await fetch(deepGw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ user(id: "a") { latest(metric: STEPS) { value } } }' }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
        'QUERY_TOO_DEEP',
      );
    } finally {
      await deepGw.stop();
    }
  });

  it('body size and readings per mutation', async () => {
    const big = await post(JSON.stringify({ query: '{ health { name } }', pad: 'x'.repeat(300_000) }));
    expect(big.status).toBe(413);
    expect(big.json.errors?.[0]?.extensions?.['code']).toBe('PAYLOAD_TOO_LARGE');
    const readings = Array.from({ length: 11 }, (_, i) => ({
      userId: 'u',
      metric: 'STEPS',
      time: new Date(Date.now() - i * 1000).toISOString(),
      value: 1,
    }));
    const batch = await gql('mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted } }', {
      r: readings,
    });
    expect(batch.json.errors?.[0]?.extensions?.['code']).toBe('BATCH_TOO_LARGE');
  });

  it('rate limit per subject: 429, Retry-After and retryAfter; other subjects unaffected', async () => {
    const limited = await startLiveGateway({
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: SECRET,
      RATE_LIMIT_PER_SECOND: '0.5',
      RATE_LIMIT_BURST: '3',
    });
    try {
      const send = async (auth: string) => {
        const res = await fetch(limited.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          body: '{"query":"{ health { name } }"}',
        });
        return {
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          body: (await res.json()) as { errors?: { extensions: Record<string, unknown> }[] },
        };
      };
      const me = `Bearer ${await signToken({ sub: uniqueId('busy'), roles: ['admin'] }, { secret: SECRET })}`;
      const other = `Bearer ${await signToken({ sub: uniqueId('calm'), roles: ['admin'] }, { secret: SECRET })}`;
      const answers = [];
      for (let i = 0; i < 5; i += 1) answers.push(await send(me));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
      expect(answers[3]!.retryAfter).toBe('2');
      expect(answers[3]!.body.errors?.[0]?.extensions).toMatchObject({
        code: 'RATE_LIMITED',
        retryAfter: 2,
        retriable: true,
      });
      expect((await send(other)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it('WebSocket: subscriptions per connection and connections per subject', async () => {
    const user = uniqueId('limits-user');
    const auth = `Bearer ${await signToken({ sub: user, roles: ['user'] }, { secret: SECRET })}`;
    const first = connect(auth);
    await first.opened;
    const subs = [0, 1, 2].map(() => collectSubscription<WindowData>(first.client, WINDOWS_QUERY, { userId: user }));
    await waitFor(() => subs[2]!.error !== undefined, { timeoutMs: 10_000, what: 'third subscription refused' });
    expect((subs[2]!.error as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe(
      'TOO_MANY_SUBSCRIPTIONS',
    );
    expect(subs[0]!.error).toBeUndefined();

    const second = connect(auth);
    await second.opened;
    const third = connect(auth);
    const closed = await third.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toMatch(/^TOO_MANY_CONNECTIONS/);
    // A freed slot is usable again.
    await second.client.dispose();
    await waitFor(
      async () => {
        const again = connect(auth);
        const r = await Promise.race([again.opened.then(() => 'open'), again.closed.then(() => 'closed')]);
        if (r === 'closed') await again.client.dispose();
        return r === 'open';
      },
      { timeoutMs: 10_000, what: 'a connection after one closed' },
    );
  });

  it('WebSocket: document limits and cost apply to subscribe too', async () => {
    const auth = `Bearer ${await signToken({ sub: uniqueId('ws-admin'), roles: ['admin'] }, { secret: SECRET })}`;
    const c = connect(auth);
    await c.opened;
    const many = collectSubscription(
      c.client,
      'subscription A { alerts { alertId } } subscription B { alerts { alertId } } subscription C { alerts { alertId } }',
    );
    await waitFor(() => many.error !== undefined, { timeoutMs: 10_000, what: 'refusal' });
    expect((many.error as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('TOO_MANY_OPERATIONS');
    const nested = collectSubscription(c.client, '{' + 'a{'.repeat(5000) + 'b' + '}'.repeat(5000) + '}');
    await waitFor(() => nested.error !== undefined, { timeoutMs: 10_000, what: 'refusal of a deeply nested document' });
    expect((nested.error as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });
});
