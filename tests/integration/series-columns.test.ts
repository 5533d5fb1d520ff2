/**
 * `seriesColumns` through a real gateway over HTTP against real Postgres: for a user with gaps in
 * their readings and a reading before the range, the columns are the points of `series` with the
 * same arguments, index for index, for every fill, with downsampling and in a time zone; bad
 * arguments fail with the codes `series` fails with, and a user's token does not read another
 * user's columns.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
import { signToken } from '../../src/auth/sign.js';
import { startGateway, type GqlResponse, type TestGateway } from '../helpers/gateway.js';
import { uniqueId } from '../helpers/wait.js';

interface Point {
  time: string;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
  filled: boolean;
}

interface Columns {
  times: string[];
  count: number[];
  avg: number[];
  min: number[];
  max: number[];
  sum: number[];
  filled: boolean[];
}

const ARGS = `$userId: ID!, $metric: Metric!, $from: DateTime!, $to: DateTime!, $bucket: Bucket!, $timeZone: String, $fill: Fill, $maxPoints: Int`;
const PASS = `userId: $userId, metric: $metric, from: $from, to: $to, bucket: $bucket, timeZone: $timeZone, fill: $fill, maxPoints: $maxPoints`;
const SERIES = `query Series(${ARGS}) { series(${PASS}) { time count avg min max sum filled } }`;
const COLUMNS = `query Columns(${ARGS}) { seriesColumns(${PASS}) { times count avg min max sum filled } }`;
const USER_COLUMNS = `query UserColumns(${ARGS}) {
  user(id: $userId) { seriesColumns(metric: $metric, from: $from, to: $to, bucket: $bucket, timeZone: $timeZone, fill: $fill, maxPoints: $maxPoints) { times count avg min max sum filled } }
}`;

const SECRET = 'integration-secret-0123456789-abcdefghij';
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
// Around Europe/Berlin's change back from summer time (2025-10-26 has 25 local hours).
const FROM = '2025-10-25T12:00:00.000Z';
const TO = '2025-10-27T00:00:00.000Z';

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** The points the columns stand for, one per index. */
function pointsOf(c: Columns): Point[] {
  const n = c.times.length;
  for (const column of [c.count, c.avg, c.min, c.max, c.sum, c.filled]) expect(column).toHaveLength(n);
  return c.times.map((time, i) => ({
    time,
    count: c.count[i]!,
    avg: c.avg[i]!,
    min: c.min[i]!,
    max: c.max[i]!,
    sum: c.sum[i]!,
    filled: c.filled[i]!,
  }));
}

describe('seriesColumns over HTTP', () => {
  let gw: TestGateway;
  let pool: pg.Pool;
  let auth: Record<string, string>;
  const user = uniqueId('columns');
  const other = uniqueId('columns-other');

  const gql = <T>(query: string, variables: Record<string, unknown>): Promise<GqlResponse<T>> =>
    gw.gql<T>(query, variables, auth);

  beforeAll(async () => {
    pool = createPool(config.postgres, createLogger(config, 'columns-test'), {
      max: 2,
      applicationName: 'fitbit-test',
    });
    await migrate(pool);
    const rnd = lcg(7);
    const fromMs = Date.parse(FROM);
    const spanMs = Date.parse(TO) - fromMs;
    const rows: { user: string; time: string; value: number }[] = [];
    for (let i = 0; i < 3000; i += 1) {
      const t = fromMs + Math.floor(rnd() * spanMs);
      // Whole hours without readings, so that fills have buckets to make up.
      if (Math.floor(t / 3_600_000) % 5 === 2) continue;
      rows.push({ user, time: new Date(t).toISOString(), value: Math.round((40 + rnd() * 140) * 100) / 100 });
    }
    // The reading before the range that fills carry into its first buckets; readings off the minute.
    rows.push({ user, time: '2025-10-25T10:17:00.000Z', value: 55 });
    rows.push({ user, time: '2025-10-25T12:00:00.250Z', value: 61.5 });
    rows.push({ user, time: '2025-10-26T23:59:59.999Z', value: 99.25 });
    rows.push({ user: other, time: '2025-10-26T01:00:00.000Z', value: 200 });
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT u, 'heart_rate', t, v FROM unnest($1::text[], $2::timestamptz[], $3::float8[]) AS r(u, t, v)
       ON CONFLICT DO NOTHING`,
      [rows.map((r) => r.user), rows.map((r) => r.time), rows.map((r) => r.value)],
    );
    gw = await startGateway({
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: SECRET,
      RATE_LIMIT_PER_SECOND: '1000',
      RATE_LIMIT_BURST: '1000',
    });
    auth = { authorization: `Bearer ${await signToken({ sub: user, roles: ['user'] }, { secret: SECRET })}` };
  });

  afterAll(async () => {
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [[user, other]]);
    await pool?.end();
  });

  const cases: [string, Record<string, unknown>][] = [
    ['MINUTE, no fill', { bucket: 'MINUTE', from: FROM, to: '2025-10-26T12:00:00.000Z' }],
    ['MINUTE, PREVIOUS', { bucket: 'MINUTE', from: FROM, to: '2025-10-26T06:00:00.000Z', fill: 'PREVIOUS' }],
    ['MINUTE, LINEAR', { bucket: 'MINUTE', from: FROM, to: '2025-10-26T06:00:00.000Z', fill: 'LINEAR' }],
    ['SECOND at the edges', { bucket: 'SECOND', from: '2025-10-25T11:59:00.000Z', to: '2025-10-25T13:00:00.000Z' }],
    ['MINUTE, maxPoints', { bucket: 'MINUTE', from: FROM, to: TO, maxPoints: 100 }],
    ['MINUTE, LINEAR and maxPoints', { bucket: 'MINUTE', from: FROM, to: TO, fill: 'LINEAR', maxPoints: 77 }],
    [
      'HOUR in Europe/Berlin, PREVIOUS',
      { bucket: 'HOUR', from: FROM, to: TO, timeZone: 'Europe/Berlin', fill: 'PREVIOUS' },
    ],
    ['DAY in America/New_York', { bucket: 'DAY', from: FROM, to: TO, timeZone: 'America/New_York' }],
  ];

  it.each(cases)('%s: the columns are the points of series, index for index', async (_, args) => {
    const variables = { userId: user, metric: 'HEART_RATE', ...args };
    const [points, columns, nested] = await Promise.all([
      gql<{ series: Point[] }>(SERIES, variables),
      gql<{ seriesColumns: Columns }>(COLUMNS, variables),
      gql<{ user: { seriesColumns: Columns } }>(USER_COLUMNS, variables),
    ]);
    expect(points.errors).toBeUndefined();
    expect(columns.errors).toBeUndefined();
    expect(nested.errors).toBeUndefined();
    const want = points.data!.series;
    expect(want.length).toBeGreaterThan(1);
    expect(pointsOf(columns.data!.seriesColumns)).toEqual(want);
    expect(pointsOf(nested.data!.user.seriesColumns)).toEqual(want);
    if (args['fill']) expect(want.some((p) => p.filled)).toBe(true);
    if (typeof args['maxPoints'] === 'number') expect(want).toHaveLength(args['maxPoints']);
  });

  it('gives empty columns where series gives no points', async () => {
    const variables = { userId: user, metric: 'STEPS', from: FROM, to: TO, bucket: 'HOUR' };
    const res = await gql<{ seriesColumns: Columns }>(COLUMNS, variables);
    expect(res.errors).toBeUndefined();
    expect(res.data!.seriesColumns).toEqual({ times: [], count: [], avg: [], min: [], max: [], sum: [], filled: [] });
  });

  describe('refuses what series refuses, with the same code', () => {
    const code = (res: GqlResponse<unknown>) => res.errors?.[0]?.extensions?.code;
    const refusals: [string, Record<string, unknown>][] = [
      ['INVALID_RANGE', { from: TO, to: FROM, bucket: 'HOUR' }],
      ['INVALID_RANGE', { from: FROM, to: FROM, bucket: 'HOUR' }],
      ['INVALID_RANGE', { from: '2020-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z', bucket: 'DAY' }],
      ['TOO_MANY_POINTS', { from: FROM, to: TO, bucket: 'SECOND' }],
      ['INVALID_TIME_ZONE', { from: FROM, to: TO, bucket: 'HOUR', timeZone: 'Mars/Olympus_Mons' }],
      ['BAD_USER_INPUT', { from: FROM, to: TO, bucket: 'MINUTE', maxPoints: 0 }],
    ];

    it.each(refusals)('%s for %j', async (expected, args) => {
      const variables = { userId: user, metric: 'HEART_RATE', ...args };
      const [points, columns] = await Promise.all([gql(SERIES, variables), gql(COLUMNS, variables)]);
      expect(code(points)).toBe(expected);
      expect(code(columns)).toBe(expected);
      expect(columns.data).toBeNull();
      if (expected === 'TOO_MANY_POINTS') {
        expect(columns.errors?.[0]?.extensions?.['maxPoints']).toBe(config.postgres.seriesMaxPoints);
      }
    });

    it("FORBIDDEN for another user's id, and nothing of theirs in the answer", async () => {
      const variables = { userId: other, metric: 'HEART_RATE', from: FROM, to: TO, bucket: 'HOUR' };
      for (const query of [SERIES, COLUMNS, USER_COLUMNS]) {
        const res = await gql(query, variables);
        expect(code(res), query).toBe('FORBIDDEN');
        // Query.user is nullable: it answers null instead of the user, the others no data at all.
        expect(res.data ?? null).toEqual(query === USER_COLUMNS ? { user: null } : null);
      }
      // The same token reads its own user's columns.
      const own = await gql<{ seriesColumns: Columns }>(COLUMNS, { ...variables, userId: user });
      expect(own.errors).toBeUndefined();
      expect(own.data!.seriesColumns.times.length).toBeGreaterThan(0);
    });
  });
});
