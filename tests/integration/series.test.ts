/**
 * `series` through a real gateway over HTTP against real Postgres: for known readings of fresh
 * users, every bucket width gives what an independent SQL formulation (epoch seconds floored by
 * the width, no date_bin) gives, and bad arguments fail with their codes.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
import { BUCKETS, type BucketName } from '../../src/domain/metrics.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId } from '../helpers/wait.js';

interface Point {
  time: string;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
}

const SERIES = /* GraphQL */ `
  query Series($userId: ID!, $metric: Metric!, $from: DateTime!, $to: DateTime!, $bucket: Bucket!) {
    series(userId: $userId, metric: $metric, from: $from, to: $to, bucket: $bucket) {
      time
      count
      avg
      min
      max
      sum
    }
  }
`;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const FROM = '2025-06-01T00:00:00.000Z';
const TO = '2025-06-03T00:00:00.000Z';

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

async function insert(
  pool: pg.Pool,
  rows: { user: string; metric: string; time: string; value: number }[],
): Promise<void> {
  await pool.query(
    `INSERT INTO readings (user_id, metric, time, value)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[]) ON CONFLICT DO NOTHING`,
    [rows.map((r) => r.user), rows.map((r) => r.metric), rows.map((r) => r.time), rows.map((r) => r.value)],
  );
}

describe('series over HTTP', () => {
  let gw: TestGateway;
  let pool: pg.Pool;
  const user = uniqueId('series');
  const other = uniqueId('series-other');
  const seeded: { user: string; metric: string; time: string; value: number }[] = [];

  /** The same aggregation, formulated independently: floor(epoch seconds / width). */
  async function expected(
    userId: string,
    metric: string,
    from: string,
    to: string,
    bucket: BucketName,
  ): Promise<Point[]> {
    const width = BUCKETS[bucket] / 1000;
    const { rows } = await pool.query<{ b: string; count: number; avg: number; min: number; max: number; sum: number }>(
      `SELECT (floor(extract(epoch FROM time) / $5) * $5)::bigint AS b,
              count(*)::int AS count, avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum
       FROM readings WHERE user_id = $1 AND metric = $2 AND time >= $3 AND time < $4
       GROUP BY 1 ORDER BY 1`,
      [userId, metric, from, to, width],
    );
    return rows.map((r) => ({
      time: new Date(Number(r.b) * 1000).toISOString(),
      count: r.count,
      avg: r.avg,
      min: r.min,
      max: r.max,
      sum: r.sum,
    }));
  }

  function expectSame(got: Point[], want: Point[]): void {
    expect(got.map((p) => [p.time, p.count])).toEqual(want.map((p) => [p.time, p.count]));
    got.forEach((p, i) => {
      const w = want[i]!;
      expect(p.min).toBe(w.min);
      expect(p.max).toBe(w.max);
      // Float sums in a different order may differ in the last bits.
      expect(p.sum).toBeCloseTo(w.sum, 6);
      expect(p.avg).toBeCloseTo(w.avg, 9);
    });
  }

  beforeAll(async () => {
    pool = createPool(config.postgres, createLogger(config, 'series-test'), { max: 2, applicationName: 'fitbit-test' });
    await migrate(pool);
    const rnd = lcg(42);
    const fromMs = Date.parse(FROM);
    const spanMs = Date.parse(TO) - fromMs;
    for (let i = 0; i < 4000; i += 1) {
      const t = fromMs + Math.floor(rnd() * spanMs);
      seeded.push({
        user,
        metric: 'heart_rate',
        time: new Date(t).toISOString(),
        value: Math.round((40 + rnd() * 140) * 100) / 100,
      });
    }
    // Edges: exactly at from (in), exactly at to (out), on bucket boundaries, sub-millisecond times.
    seeded.push({ user, metric: 'heart_rate', time: FROM, value: 61 });
    seeded.push({ user, metric: 'heart_rate', time: TO, value: 250 });
    seeded.push({ user, metric: 'heart_rate', time: '2025-06-01T10:00:00.000Z', value: 100 });
    seeded.push({ user, metric: 'heart_rate', time: '2025-06-01T09:59:59.999Z', value: 99 });
    seeded.push({ user, metric: 'heart_rate', time: '2025-06-01T11:14:59.999750Z', value: 77.25 });
    seeded.push({ user, metric: 'heart_rate', time: '2025-06-01T11:15:00.000250Z', value: 78.75 });
    // Noise that must not leak in: another metric of the same user, the same metric of another user.
    for (let i = 0; i < 200; i += 1) {
      const t = new Date(fromMs + Math.floor(rnd() * spanMs)).toISOString();
      seeded.push({ user, metric: 'steps', time: t, value: Math.floor(rnd() * 100) });
      seeded.push({ user: other, metric: 'heart_rate', time: t, value: 200 });
    }
    await insert(pool, seeded);
    gw = await startGateway();
  });

  afterAll(async () => {
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [[user, other]]);
    await pool?.end();
  });

  const cases: [BucketName, string, string][] = [
    ['SECOND', '2025-06-01T09:30:00.000Z', '2025-06-01T11:30:00.000Z'],
    ['MINUTE', FROM, '2025-06-02T00:00:00.000Z'],
    ['FIVE_MINUTES', FROM, TO],
    ['FIFTEEN_MINUTES', '2025-06-01T03:07:30.000Z', TO],
    ['HOUR', FROM, TO],
    ['DAY', '2025-05-30T12:00:00.000Z', '2025-06-04T00:00:00.000Z'],
  ];

  it.each(cases)('at %s buckets equals the independent aggregation', async (bucket, from, to) => {
    const res = await gw.gql<{ series: Point[] }>(SERIES, { userId: user, metric: 'HEART_RATE', from, to, bucket });
    expect(res.errors).toBeUndefined();
    const got = res.data!.series;
    const want = await expected(user, 'heart_rate', from, to, bucket);
    expect(got.length).toBeGreaterThan(0);
    expectSame(got, want);
    // Epoch-aligned, labelled by start, empty buckets omitted, ascending.
    for (const p of got) {
      expect(Date.parse(p.time) % BUCKETS[bucket]).toBe(0);
      expect(p.count).toBeGreaterThan(0);
    }
    expect([...got].sort((a, b) => a.time.localeCompare(b.time))).toEqual(got);
  });

  it('covers [from, to): the reading at from counts, the one at to does not', async () => {
    const res = await gw.gql<{ series: Point[] }>(SERIES, {
      userId: user,
      metric: 'HEART_RATE',
      from: FROM,
      to: TO,
      bucket: 'DAY',
    });
    const total = res.data!.series.reduce((n, p) => n + p.count, 0);
    const inRange = seeded.filter((r) => r.user === user && r.metric === 'heart_rate' && r.time >= FROM && r.time < TO);
    expect(total).toBe(new Set(inRange.map((r) => Date.parse(r.time) + r.time.slice(23))).size);
    expect(res.data!.series.every((p) => p.max < 250)).toBe(true);
  });

  it('puts sub-millisecond readings on the right side of a bucket boundary', async () => {
    const res = await gw.gql<{ series: Point[] }>(SERIES, {
      userId: user,
      metric: 'HEART_RATE',
      from: '2025-06-01T11:00:00Z',
      to: '2025-06-01T11:30:00Z',
      bucket: 'FIFTEEN_MINUTES',
    });
    const [first, second] = res.data!.series;
    expect(first?.time).toBe('2025-06-01T11:00:00.000Z');
    expect(second?.time).toBe('2025-06-01T11:15:00.000Z');
    expect(first!.max).toBeGreaterThanOrEqual(77.25);
    expect(second!.min).toBeLessThanOrEqual(78.75);
  });

  it('gives an empty list for a user without readings', async () => {
    const res = await gw.gql<{ series: Point[] }>(SERIES, {
      userId: uniqueId('nobody'),
      metric: 'HEART_RATE',
      from: FROM,
      to: TO,
      bucket: 'HOUR',
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.series).toEqual([]);
  });

  describe('refuses bad arguments with a code', () => {
    const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

    it('TOO_MANY_POINTS rather than a truncated series', async () => {
      const res = await gw.gql(SERIES, { userId: user, metric: 'HEART_RATE', from: FROM, to: TO, bucket: 'SECOND' });
      expect(code(res)).toBe('TOO_MANY_POINTS');
      expect(res.errors?.[0]?.extensions?.maxPoints).toBe(config.postgres.seriesMaxPoints);
      expect(res.data).toBeNull();
    });

    it('INVALID_RANGE for inverted, empty and over-long ranges', async () => {
      for (const [from, to] of [
        [TO, FROM],
        [FROM, FROM],
        ['2020-01-01T00:00:00Z', '2025-01-01T00:00:00Z'],
      ]) {
        const res = await gw.gql(SERIES, { userId: user, metric: 'HEART_RATE', from, to, bucket: 'DAY' });
        expect(code(res), `${from} .. ${to}`).toBe('INVALID_RANGE');
      }
    });

    it('INVALID_TIME for a time without an offset', async () => {
      const res = await gw.gql(SERIES, {
        userId: user,
        metric: 'HEART_RATE',
        from: '2025-06-01 00:00',
        to: TO,
        bucket: 'DAY',
      });
      expect(res.errors?.[0]?.message).toMatch(/RFC 3339/);
      expect(code(res)).toMatch(/INVALID_TIME|BAD_USER_INPUT/);
    });

    it('unknown metric strings, as a variable and as a literal', async () => {
      const asVariable = await gw.gql(SERIES, {
        userId: user,
        metric: 'heart_rate',
        from: FROM,
        to: TO,
        bucket: 'DAY',
      });
      expect(code(asVariable)).toBe('BAD_USER_INPUT');
      expect(asVariable.errors?.[0]?.message).toMatch(/Metric/);
      const asLiteral = await gw.gql(
        `{ series(userId: "${user}", metric: BLOOD_SUGAR, from: "${FROM}", to: "${TO}", bucket: DAY) { time } }`,
      );
      expect(code(asLiteral)).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('INVALID_USER_ID for injection-shaped ids, and the table is untouched', async () => {
      const before = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE user_id = $1', [
        user,
      ]);
      for (const userId of [
        `${user}' OR '1'='1`,
        `x'; DROP TABLE readings; --`,
        '',
        'a'.repeat(65),
        `${user}\u0000`,
        '../etc/passwd',
      ]) {
        const res = await gw.gql(SERIES, { userId, metric: 'HEART_RATE', from: FROM, to: TO, bucket: 'DAY' });
        expect(code(res), JSON.stringify(userId)).toBe('INVALID_USER_ID');
        expect(JSON.stringify(res)).not.toMatch(/SELECT|readings_pkey|127\.0\.0\.1/);
      }
      const after = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE user_id = $1', [
        user,
      ]);
      expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    });
  });
});
