/**
 * Authentication and roles through a real gateway (AUTH_MODE=required, HS256), over HTTP and
 * graphql-ws, with the real Kafka behind ingest and the live output topics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import type { Kafka, Producer } from 'kafkajs';
import { signToken, type TokenClaims } from '../../src/auth/sign.js';
import {
  ALERTS_QUERY,
  WINDOWS_QUERY,
  collectSubscription,
  connectedProducer,
  produceJson,
  startLiveGateway,
  testProducerKafka,
  windowV1,
  type AlertData,
  type LiveGateway,
  type WindowData,
  connectWs,
  type WsConnection,
} from '../helpers/live.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const SECRET = 'integration-secret-0123456789-abcdefghij';
const token = (claims: TokenClaims, secret = SECRET) => signToken(claims, { secret });

interface HttpAnswer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

const FROM = '2026-01-01T00:00:00Z';
const TO = '2026-01-01T01:00:00Z';
const SERIES = `query S($u: ID!) { series(userId: $u, metric: HEART_RATE, from: "${FROM}", to: "${TO}", bucket: MINUTE) { time avg } }`;
const INGEST = `mutation I($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted rejected { index code } } }`;
const reading = (userId: string) => ({
  userId,
  metric: 'HEART_RATE',
  time: new Date(Date.now() - 60_000).toISOString(),
  value: 70,
});

describe('authentication and roles (AUTH_MODE=required)', () => {
  let gw: LiveGateway;
  let kafka: Kafka;
  let producer: Producer;
  const clients: Client[] = [];
  const alice = uniqueId('auth-alice');
  const bob = uniqueId('auth-bob');

  async function post(
    query: string,
    variables: Record<string, unknown> = {},
    authorization?: string,
  ): Promise<HttpAnswer> {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as HttpAnswer['body'] };
  }
  const bearer = async (claims: TokenClaims) => `Bearer ${await token(claims)}`;
  const code = (a: HttpAnswer) => a.body.errors?.[0]?.extensions?.['code'];

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
      RATE_LIMIT_PER_SECOND: '1000',
      RATE_LIMIT_BURST: '1000',
    });
    kafka = testProducerKafka();
    producer = await connectedProducer(kafka);
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await producer?.disconnect();
    await gw?.stop();
  });

  describe('HTTP', () => {
    it('refuses a request without a token with 401, UNAUTHENTICATED and a Bearer challenge', async () => {
      const a = await post('{ health { name } }');
      expect(a.status).toBe(401);
      expect(a.headers.get('www-authenticate')).toBe('Bearer');
      expect(code(a)).toBe('UNAUTHENTICATED');
      expect(a.body.errors?.[0]?.extensions?.['reason']).toBe('missing');
      expect(a.body.errors?.[0]?.extensions).not.toHaveProperty('http');
    });

    it('refuses a bad signature, an expired token, a wrong algorithm and a malformed header', async () => {
      const cases: [string, string][] = [
        [
          `Bearer ${await token({ sub: alice, roles: ['user'] }, 'another-secret-0123456789-abcdefghijkl')}`,
          'signature',
        ],
        [`Bearer ${await token({ sub: alice, roles: ['user'], expiresInSeconds: -60 })}`, 'expired'],
        ['Bearer not.a.jwt', 'malformed'],
        ['Basic dXNlcjpwYXNz', 'malformed'],
        [`Bearer ${await token({ sub: alice, roles: ['nobody'] })}`, 'claims'],
      ];
      for (const [authorization, reason] of cases) {
        const a = await post('{ health { name } }', {}, authorization);
        expect(a.status, reason).toBe(401);
        expect(code(a), reason).toBe('UNAUTHENTICATED');
        expect(a.body.errors?.[0]?.extensions?.['reason'], reason).toBe(reason);
      }
    });

    it('lets a user read only their own data', async () => {
      const auth = await bearer({ sub: alice, roles: ['user'] });
      const own = await post(SERIES, { u: alice }, auth);
      expect(own.status).toBe(200);
      expect(own.body.errors).toBeUndefined();
      expect(own.body.data?.['series']).toEqual([]);

      const other = await post(SERIES, { u: bob }, auth);
      expect(other.status).toBe(200);
      expect(code(other)).toBe('FORBIDDEN');
      expect(other.body.data).toBeNull();

      const users = await post('query U($ids: [ID!]!) { users(ids: $ids) { id } }', { ids: [alice, bob] }, auth);
      expect(code(users)).toBe('FORBIDDEN');
      const self = await post('query U($ids: [ID!]!) { users(ids: $ids) { id } }', { ids: [alice] }, auth);
      expect(self.body.data?.['users']).toEqual([{ id: alice }]);
      const user = await post(`{ user(id: "${bob}") { id } }`, {}, auth);
      expect(code(user)).toBe('FORBIDDEN');
      const readings = await post(
        `{ readings(userId: "${bob}", metric: STEPS, from: "${FROM}", to: "${TO}") { nodes { value } } }`,
        {},
        auth,
      );
      expect(code(readings)).toBe('FORBIDDEN');
      expect(
        code(await post(`{ leaderboard(metric: STEPS, from: "${FROM}", to: "${TO}") { userId } }`, {}, auth)),
      ).toBe('FORBIDDEN');
      expect(code(await post(INGEST, { r: [reading(alice)] }, auth))).toBe('FORBIDDEN');
    });

    it('fails only the forbidden field of a mixed request', async () => {
      const auth = await bearer({ sub: alice, roles: ['user'] });
      const a = await post(`{ mine: user(id: "${alice}") { id } theirs: user(id: "${bob}") { id } }`, {}, auth);
      expect(a.status).toBe(200);
      expect(a.body.data).toEqual({ mine: { id: alice }, theirs: null });
      expect(a.body.errors).toHaveLength(1);
      expect(a.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      expect(a.body.errors?.[0]?.['path' as 'message']).toEqual(['theirs']);
    });

    it('lets an analyst use the aggregates and nothing per user', async () => {
      const auth = await bearer({ sub: 'analyst-1', roles: ['analyst'] });
      const board = await post(`{ leaderboard(metric: STEPS, from: "${FROM}", to: "${TO}") { userId } }`, {}, auth);
      // Trino may be down on this machine: then its own code, never FORBIDDEN.
      expect(code(board)).not.toBe('FORBIDDEN');
      expect(code(await post(SERIES, { u: alice }, auth))).toBe('FORBIDDEN');
      expect(code(await post(`{ user(id: "${alice}") { id } }`, {}, auth))).toBe('FORBIDDEN');
    });

    it('lets a device ingest for itself and its listed users, and nobody else', async () => {
      const device = uniqueId('auth-dev');
      const auth = await bearer({ sub: device, roles: ['device'], users: [alice] });
      const ok = await post(INGEST, { r: [reading(device), reading(alice)] }, auth);
      expect(ok.body.errors).toBeUndefined();
      expect(ok.body.data?.['ingestReadings']).toEqual({ accepted: 2, rejected: [] });

      const refused = await post(INGEST, { r: [reading(alice), reading(bob)] }, auth);
      expect(code(refused)).toBe('FORBIDDEN');
      expect(refused.body.errors?.[0]?.message).toMatch(/readings\[1\]/);
      expect(code(await post(SERIES, { u: device }, auth))).toBe('FORBIDDEN');
    });

    it('lets an admin do everything, including health', async () => {
      const auth = await bearer({ sub: 'ops', roles: ['admin'] });
      const a = await post(
        `{ health { name ok } series(userId: "${bob}", metric: STEPS, from: "${FROM}", to: "${TO}", bucket: HOUR) { sum } }`,
        {},
        auth,
      );
      expect(a.body.errors).toBeUndefined();
      expect((a.body.data?.['health'] as unknown[]).length).toBeGreaterThan(0);
    });
  });

  describe('graphql-ws', () => {
    it('closes a connection without a valid token with 4401', async () => {
      const none = connect(undefined);
      expect((await none.closed).code).toBe(4401);
      const expired = connect(await bearer({ sub: alice, roles: ['user'], expiresInSeconds: -60 }));
      const closed = await expired.closed;
      expect(closed.code).toBe(4401);
      expect(closed.reason).toMatch(/expired/);
    });

    it("never delivers another user's events, and refuses another user's subscription", async () => {
      const conn = connect(await bearer({ sub: alice, roles: ['user'] }));
      await conn.opened;
      const mine = collectSubscription<WindowData>(conn.client, WINDOWS_QUERY, { userId: alice });
      const theirs = collectSubscription<WindowData>(conn.client, WINDOWS_QUERY, { userId: bob });
      const everyone = collectSubscription<AlertData>(conn.client, ALERTS_QUERY, {});
      // A refused subscribe answers with one result carrying the error, then completes.
      await waitFor(() => theirs.completed && everyone.completed, { timeoutMs: 10_000, what: 'refusals' });
      expect(theirs.results[0]?.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      expect(everyone.results[0]?.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');

      // An admin watching everything sees both users' events; alice's subscription only hers.
      const admin = connect(await bearer({ sub: 'ops', roles: ['admin'] }));
      await admin.opened;
      const all = collectSubscription<AlertData>(admin.client, ALERTS_QUERY, {});
      await waitFor(
        () =>
          gw.gateway.services.live.stats().windowSubscribers >= 1 &&
          gw.gateway.services.live.stats().alertSubscribers >= 1,
        {
          timeoutMs: 10_000,
          what: 'subscriptions registered',
        },
      );
      const start = Date.UTC(2026, 0, 1, 0, Math.floor(Math.random() * 10_000));
      await produceJson(producer, 'fitbit_processed', [
        windowV1(bob, 'heart_rate', start, [90]),
        windowV1(alice, 'heart_rate', start, [70]),
      ]);
      const alertOf = (userId: string) => ({
        alertId: uniqueId('alert'),
        userId,
        kind: 'HIGH_RESTING_HR',
        time: new Date().toISOString(),
        message: 'x',
        details: {},
      });
      await produceJson(producer, 'fitbit_alerts', [alertOf(bob), alertOf(alice)]);
      await waitFor(
        () => mine.data.length >= 1 && all.data.filter((d) => [alice, bob].includes(d.alerts.userId)).length >= 2,
        {
          timeoutMs: 15_000,
          what: 'events delivered',
        },
      );
      expect(mine.data.map((d) => d.metricWindows.userId)).toEqual([alice]);
      expect(theirs.data).toEqual([]);
      expect(everyone.data).toEqual([]);
    });
  });
});
