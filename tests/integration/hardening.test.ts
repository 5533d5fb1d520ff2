/**
 * What a production-mode gateway (NODE_ENV=production, AUTH_MODE=required) refuses and bounds,
 * against the real stack: labels from clients, WebSocket connection slots, introspection and schema
 * hints on both transports, backend fan-out (health probe, Trino cost and query gate), aggregate
 * privacy, root fields authorised before a mutation runs, token claims, echoed input, the 413 of a
 * chunked body, authentication before the body, and health details.
 */
import { request } from 'node:http';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { SignJWT } from 'jose';
import { signToken, type TokenClaims } from '../../src/auth/sign.js';
import { migrate } from '../../src/timescale/migrations.js';
import { startLiveGateway, type LiveGateway } from '../helpers/live.js';
import { collect, endOffsets, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { createTopics, type Topics } from './consumer-fixtures.js';

const SECRET = 'hardening-secret-0123456789-abcdefghij';
const MAX_CONNECTIONS = 4;
const MAX_BODY = 3 * 1024 * 1024;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

describe('hardening of a production gateway', () => {
  let gw: LiveGateway;
  let kafka: Kafka;
  let topics: Topics;
  const pool = new pg.Pool({
    connectionString: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/fitbit',
    max: 2,
  });
  const sign = (claims: TokenClaims) => signToken(claims, { secret: SECRET });
  let admin: string;
  let analyst: string;

  async function post(
    body: unknown,
    authorization: string | undefined,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(authorization ? { authorization } : {}),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Answer['body'] = {};
    try {
      parsed = JSON.parse(text) as Answer['body'];
    } catch {
      // asserted by the caller through `text`
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  }
  const codes = (a: Answer) => (a.body.errors ?? []).map((e) => e.extensions?.['code']);

  beforeAll(async () => {
    kafka = testKafka();
    topics = await createTopics(kafka, 3);
    gw = await startLiveGateway({
      NODE_ENV: 'production',
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: SECRET,
      KAFKA_TOPIC: topics.topic,
      LIVE_MAX_CONNECTIONS_PER_SUBJECT: String(MAX_CONNECTIONS),
      HTTP_MAX_BODY_BYTES: String(MAX_BODY),
      RATE_LIMIT_PER_SECOND: '1000',
      RATE_LIMIT_BURST: '1000',
      TRINO_MAX_CONCURRENT_QUERIES: '1',
      TRINO_MAX_QUEUED_QUERIES: '0',
      TRINO_CACHE_TTL_MS: '0',
    });
    admin = `Bearer ${await sign({ sub: 'ops', roles: ['admin'] })}`;
    analyst = `Bearer ${await sign({ sub: 'analyst-1', roles: ['analyst'] })}`;
    await migrate(pool);
  });

  afterAll(async () => {
    await gw?.stop();
    await topics?.remove();
    await pool.end();
  });

  it('bounds operation-name labels: megabyte names leave /metrics small', async () => {
    const before = (await (await fetch(gw.url.replace('/graphql', '/metrics'))).text()).length;
    for (let i = 0; i < 3; i += 1) {
      const name = `N${i}${'x'.repeat(1024 * 1024)}`;
      const a = await post({ query: `query ${name} { __typename }`, operationName: name }, admin);
      expect(a.status).toBeLessThan(500);
      // The name is not echoed back whole either.
      expect(a.text.length).toBeLessThan(10_000);
    }
    const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(metrics.length - before).toBeLessThan(20_000);
    expect(metrics).not.toContain('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
    expect(metrics).toMatch(/fitbit_graphql_operation_duration_seconds_count\{[^}]*operation="other"/);
  });

  it('gives back the connection slot of a socket closed while its token was being checked', async () => {
    const subject = uniqueId('ws-subject');
    const big = async (i: number) =>
      `Bearer ${await sign({ sub: subject, roles: ['user'], users: Array.from({ length: 800 }, (_, j) => `u-${i}-${j}`) })}`;
    for (let round = 0; round < 60; round += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const authorization = await big(round + k);
          await new Promise<void>((resolve) => {
            const ws = new WebSocket(gw.wsUrl, 'graphql-transport-ws');
            ws.on('open', () => {
              ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
              ws.terminate();
            });
            ws.on('close', () => resolve());
            ws.on('error', () => resolve());
          });
        }),
      );
    }
    // The last connect checks finish after their sockets closed.
    await new Promise((r) => setTimeout(r, 1000));
    // Afterwards the subject still gets MAX_CONNECTIONS connections with a small token.
    const small = `Bearer ${await sign({ sub: subject, roles: ['user'] })}`;
    const acks = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => wsHandshake(gw.wsUrl, small)));
    expect(acks).toEqual(Array.from({ length: MAX_CONNECTIONS }, () => 'connection_ack'));
  });

  it('refuses introspection over graphql-ws as over HTTP, and hints at no field names', async () => {
    const http = await post({ query: '{ __schema { types { name } } }' }, admin);
    expect(codes(http)).toContain('GRAPHQL_VALIDATION_FAILED');
    const ws = await wsOperation(gw.wsUrl, admin, '{ __schema { types { name } } }');
    expect(ws.type).toBe('error');
    expect(JSON.stringify(ws.payload)).toContain('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(ws.payload)).not.toContain('"types"');

    const typo = await post({ query: '{ helth { name } }' }, admin);
    expect(codes(typo)).toContain('GRAPHQL_VALIDATION_FAILED');
    expect(typo.text).not.toContain('Did you mean');
    const wsTypo = await wsOperation(gw.wsUrl, admin, 'subscription { alert { alertId } }');
    expect(JSON.stringify(wsTypo.payload)).not.toContain('Did you mean');
  });

  it('asks the backends once for thirty aliased health fields, and shows details to admin only', async () => {
    const query = `{ ${Array.from({ length: 30 }, (_, i) => `h${i}: health { name ok latencyMs detail }`).join(' ')} }`;
    const a = await post({ query }, admin);
    expect(a.status).toBe(200);
    const lists = Object.values(a.body.data ?? {}) as { name: string; latencyMs: number; detail: string | null }[][];
    expect(lists).toHaveLength(30);
    // One probe answered every alias: the same latencies, to the fraction of a millisecond.
    for (const list of lists) expect(list.map((s) => s.latencyMs)).toEqual(lists[0]!.map((s) => s.latencyMs));
    expect(lists[0]!.some((s) => s.detail !== null)).toBe(true);
    const seen = await post({ query: '{ health { name detail } }' }, analyst);
    expect((seen.body.data?.['health'] as { detail: unknown }[]).every((s) => s.detail === null)).toBe(true);
  });

  it('prices Trino aggregates by their query, and refuses what the query gate cannot take', async () => {
    const field = (i: number) =>
      `c${i}: cohortStats(metric: STEPS, from: "2002-01-0${1 + (i % 9)}T00:00:00Z", to: "2002-01-0${1 + (i % 9)}T0${1 + Math.floor(i / 9)}:00:00Z", bucket: HOUR) { avg }`;
    const thirty = await post({ query: `{ ${Array.from({ length: 30 }, (_, i) => field(i)).join(' ')} }` }, admin);
    expect(codes(thirty)).toEqual(['QUERY_TOO_COMPLEX']);
    // One query may run and none wait (this gateway's settings): of four requests at once, each
    // with an aggregate of its own, three are refused while the first runs.
    const four = await Promise.all(Array.from({ length: 4 }, (_, i) => post({ query: `{ ${field(i + 10)} }` }, admin)));
    const busy = four.flatMap((a) => a.body.errors ?? []).filter((e) => e.extensions?.['code'] === 'TRINO_BUSY');
    expect(busy).toHaveLength(3);
    expect(busy.every((e) => e.extensions?.['retriable'] === true)).toBe(true);
    const metrics = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/^fitbit_trino_busy_refusals_total\{[^}]*\} 3$/m);
    await waitFor(() => gw.gateway.services.trino.stats().gate.running === 0, {
      timeoutMs: 60_000,
      what: 'the running aggregate to finish',
    });
  });

  it('keeps raw readings out of aggregates for analysts: short ranges refused, small cohorts left out', async () => {
    const tiny = await post(
      {
        query:
          '{ leaderboard(metric: STEPS, from: "2026-01-01T00:00:00.000Z", to: "2026-01-01T00:00:00.001Z") { userId value } }',
      },
      analyst,
    );
    expect(codes(tiny)).toEqual(['RANGE_TOO_SHORT']);
    const asAdmin = await post(
      {
        query:
          '{ leaderboard(metric: STEPS, from: "2026-01-01T00:00:00.000Z", to: "2026-01-01T00:00:00.001Z") { userId value } }',
      },
      admin,
    );
    expect(asAdmin.body.errors).toBeUndefined();

    // An hour of its own (1980-1999, by test run): minute 0 has two users, minute 1 has three.
    const hour = Date.UTC(
      1980 + Math.floor(Math.random() * 20),
      Math.floor(Math.random() * 12),
      1 + Math.floor(Math.random() * 27),
      Math.floor(Math.random() * 24),
    );
    const users = Array.from({ length: 3 }, () => uniqueId('cohort'));
    const rows: [string, number, number][] = [
      [users[0]!, hour + 1_000, 61],
      [users[1]!, hour + 2_000, 62],
      [users[0]!, hour + 61_000, 70],
      [users[1]!, hour + 62_000, 71],
      [users[2]!, hour + 63_000, 72],
    ];
    for (const [u, t, v] of rows)
      await pool.query("INSERT INTO readings (user_id, metric, time, value) VALUES ($1, 'breathing_rate', $2, $3)", [
        u,
        new Date(t),
        v,
      ]);
    try {
      const query = `{ cohortStats(metric: BREATHING_RATE, from: "${new Date(hour).toISOString()}", to: "${new Date(hour + 3_600_000).toISOString()}", bucket: MINUTE) { time users count } }`;
      const forAdmin = await post({ query }, admin);
      expect(forAdmin.body.data?.['cohortStats']).toEqual([
        { time: new Date(hour).toISOString(), users: 2, count: 2 },
        { time: new Date(hour + 60_000).toISOString(), users: 3, count: 3 },
      ]);
      const forAnalyst = await post({ query }, analyst);
      expect(forAnalyst.body.data?.['cohortStats']).toEqual([
        { time: new Date(hour + 60_000).toISOString(), users: 3, count: 3 },
      ]);
    } finally {
      await pool.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    }
  });

  it('authorises every root field before a mutation runs: nothing of a refused mutation is published', async () => {
    const own = uniqueId('own');
    const device = `Bearer ${await sign({ sub: own, roles: ['device'] })}`;
    const r = (userId: string, value: number) => ({
      userId,
      metric: 'STEPS',
      time: new Date(Date.now() - 60_000).toISOString(),
      value,
    });
    const query = `mutation M($a: [ReadingInput!]!, $b: [ReadingInput!]!) { a: ingestReadings(readings: $a) { accepted } b: ingestReadings(readings: $b) { accepted } }`;
    const refused = await post({ query, variables: { a: [r(own, 1)], b: [r('someone-else', 2)] } }, device);
    expect(refused.status).toBe(403);
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    const allowed = await post({ query, variables: { a: [r(own, 3)], b: [r(own, 4)] } }, device);
    expect(allowed.body.data).toEqual({ a: { accepted: 1 }, b: { accepted: 1 } });
    // The topic (this test's own) holds the two readings of the allowed mutation, and nothing of the refused one.
    const ends = await endOffsets(kafka, topics.topic);
    expect(ends.reduce((n, p) => n + Number(p.offset), 0)).toBe(2);
    const messages = await collect(
      kafka,
      topics.topic,
      ends.map((p) => ({ partition: p.partition, offset: '0' })),
      () => true,
      (all) => all.length >= 2,
    );
    expect(messages.map((m) => (JSON.parse(m.value!) as { value: number }).value).sort()).toEqual([3, 4]);
  });

  it('treats tokens by their claims: tolerance honoured, no exp and future iat refused with 401', async () => {
    const key = new TextEncoder().encode(SECRET);
    const now = Math.floor(Date.now() / 1000);
    const jwt = (claims: { iat?: number; exp?: number }) => {
      let b = new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('ops');
      if (claims.iat !== undefined) b = b.setIssuedAt(claims.iat);
      if (claims.exp !== undefined) b = b.setExpirationTime(claims.exp);
      return b.sign(key);
    };
    const ask = async (token: string) => post({ query: '{ __typename }' }, `Bearer ${token}`);
    const withinTolerance = await ask(await jwt({ iat: now - 60, exp: now - 2 }));
    expect([withinTolerance.status, withinTolerance.body.data]).toEqual([200, { __typename: 'Query' }]);
    for (const claims of [{ iat: now - 60, exp: now - 30 }, { iat: now }, { iat: now + 600, exp: now + 3600 }]) {
      const a = await ask(await jwt(claims));
      expect([a.status, codes(a)], JSON.stringify(claims)).toEqual([401, ['UNAUTHENTICATED']]);
    }
  });

  it('caps what refusals echo, and answers an impossible year with INVALID_RANGE', async () => {
    const device = `Bearer ${await sign({ sub: 'dev-echo', roles: ['device'] })}`;
    const huge = 'u'.repeat(2 * 1024 * 1024);
    const a = await post(
      {
        query: 'mutation M($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted } }',
        variables: { r: [{ userId: huge, metric: 'STEPS', time: '2026-01-01T00:00:00Z', value: 1 }] },
      },
      device,
      {},
    );
    expect(codes(a)).toEqual(['FORBIDDEN']);
    expect(a.text.length).toBeLessThan(2_000);
    const far = await post(
      {
        query:
          '{ cohortStats(metric: STEPS, from: "9999-01-01T00:00:00Z", to: "9999-01-02T00:00:00Z", bucket: HOUR) { avg } }',
      },
      admin,
    );
    expect(codes(far)).toEqual(['INVALID_RANGE']);
  });

  it('answers a chunked body over the limit with 413, not a reset', async () => {
    const status = await new Promise<number | string>((resolve) => {
      const req = request(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: admin, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err) => resolve(`error ${err.message}`));
      const chunk = Buffer.alloc(16 * 1024, 'a');
      let sent = 0;
      const pump = () => {
        while (sent < MAX_BODY * 4) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it('authenticates before reading the body, and rate-limits failed attempts by address', async () => {
    const unauth = await post('{ not json', undefined);
    expect([unauth.status, codes(unauth)]).toEqual([401, ['UNAUTHENTICATED']]);
    const limited = await startLiveGateway({
      NODE_ENV: 'production',
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: SECRET,
      KAFKA_TOPIC: topics.topic,
      RATE_LIMIT_PER_SECOND: '0.1',
      RATE_LIMIT_BURST: '3',
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const res = await fetch(limited.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer nope.nope.nope' },
          body: '{"query":"{ __typename }"}',
        });
        await res.text();
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await limited.stop();
    }
  });
});

/** Opens a graphql-ws connection and returns the first message type (connection_ack, or the close code). */
function wsHandshake(url: string, authorization: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const done = (v: string) => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      resolve(v);
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    ws.on('message', (d) => done((JSON.parse(String(d)) as { type: string }).type));
    ws.on('close', (code) => done(`closed ${code}`));
    ws.on('error', (e) => done(`error ${e.message}`));
    setTimeout(() => done('timeout'), 10_000);
  });
}

/** One operation over graphql-ws: the first message after the ack (next, error) or the close. */
function wsOperation(url: string, authorization: string, query: string): Promise<{ type: string; payload?: unknown }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const done = (v: { type: string; payload?: unknown }) => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(v);
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; payload?: unknown };
      if (m.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
      else done(m);
    });
    ws.on('close', (code) => done({ type: `closed ${code}` }));
    setTimeout(() => done({ type: 'timeout' }), 10_000);
  });
}
