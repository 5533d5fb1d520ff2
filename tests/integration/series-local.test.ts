/**
 * `series` in local time, gap-filled and downsampled, through a real gateway over HTTP against real
 * Postgres (the per-minute rollup kept by its triggers), and `cohortStats` in local time through
 * the real Trino. Every expectation is the test's own arithmetic over the readings it inserted:
 * Europe/Berlin's 23-hour 2026-03-29 and 25-hour 2026-10-25, Asia/Kolkata's half-hour offset,
 * PREVIOUS and LINEAR fills, maxPoints keeping the extremes, and INVALID_TIME_ZONE.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
import { createTrinoService, TrinoError } from '../../src/trino/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
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

interface Row {
  user: string;
  time: string;
  value: number;
}

const SERIES = /* GraphQL */ `
  query Series(
    $userId: ID!
    $from: DateTime!
    $to: DateTime!
    $bucket: Bucket!
    $timeZone: String
    $fill: Fill
    $maxPoints: Int
  ) {
    series(
      userId: $userId
      metric: HEART_RATE
      from: $from
      to: $to
      bucket: $bucket
      timeZone: $timeZone
      fill: $fill
      maxPoints: $maxPoints
    ) {
      time
      count
      avg
      min
      max
      sum
      filled
    }
  }
`;

const USERS_SERIES = /* GraphQL */ `
  query UsersSeries($ids: [ID!]!, $from: DateTime!, $to: DateTime!, $timeZone: String, $fill: Fill) {
    users(ids: $ids) {
      id
      series(metric: HEART_RATE, from: $from, to: $to, bucket: HOUR, timeZone: $timeZone, fill: $fill) {
        time
        count
        avg
        min
        max
        sum
        filled
      }
    }
  }
`;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const H = 3_600_000;
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ms = (s: string) => Date.parse(s);

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Readings every `stepMs` over [fromMs, toMs), values to two decimals; some at odd seconds. */
function readings(user: string, fromMs: number, toMs: number, stepMs: number, seed: number): Row[] {
  const rnd = lcg(seed);
  const out: Row[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) {
    out.push({ user, time: iso(t + Math.floor(rnd() * 30) * 1000), value: Math.round((50 + rnd() * 100) * 100) / 100 });
  }
  return out;
}

interface Expected {
  time: string;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** The test's own aggregation: the readings of [start, end) for each explicit bucket. */
function aggregate(rows: Row[], bounds: [number, number][], from: number, to: number): Expected[] {
  return bounds.flatMap(([start, end]) => {
    const inside = rows.filter((r) => {
      const t = ms(r.time);
      return t >= start && t < end && t >= from && t < to;
    });
    if (inside.length === 0) return [];
    const values = inside.map((r) => r.value);
    return [
      {
        time: iso(start),
        count: inside.length,
        sum: values.reduce((a, v) => a + v, 0),
        min: Math.min(...values),
        max: Math.max(...values),
      },
    ];
  });
}

function expectBuckets(got: Point[], want: Expected[]): void {
  expect(got.map((p) => [p.time, p.count])).toEqual(want.map((w) => [w.time, w.count]));
  got.forEach((p, i) => {
    const w = want[i]!;
    expect(p.sum).toBeCloseTo(w.sum, 6);
    expect(p.avg).toBeCloseTo(w.sum / w.count, 9);
    expect(p.min).toBe(w.min);
    expect(p.max).toBe(w.max);
    expect(p.filled).toBe(false);
  });
}

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

describe('series in local time, filled and downsampled', () => {
  let gw: TestGateway;
  let pool: pg.Pool;
  const users: string[] = [];
  const user = (prefix: string) => {
    const id = uniqueId(prefix);
    users.push(id);
    return id;
  };

  async function insert(rows: Row[]): Promise<void> {
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT u, 'heart_rate', t, v FROM unnest($1::text[], $2::timestamptz[], $3::float8[]) AS x(u, t, v)
       ON CONFLICT DO NOTHING`,
      [rows.map((r) => r.user), rows.map((r) => r.time), rows.map((r) => r.value)],
    );
  }

  async function series(vars: Record<string, unknown>): Promise<Point[]> {
    const res = await gw.gql<{ series: Point[] }>(SERIES, vars);
    expect(res.errors).toBeUndefined();
    return res.data!.series;
  }

  beforeAll(async () => {
    pool = createPool(config.postgres, createLogger(config, 'series-local-test'), {
      max: 2,
      applicationName: 'fitbit-test',
    });
    await migrate(pool);
    gw = await startGateway();
  });

  afterAll(async () => {
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    await pool?.end();
  });

  it('has a 23-hour local day on 2026-03-29 in Europe/Berlin', async () => {
    const u = user('local-spring');
    const rows = readings(u, ms('2026-03-27T20:00:00Z'), ms('2026-03-31T02:00:00Z'), 5 * MIN, 1);
    await insert(rows);
    // Local midnights: CET (+01) until the change at 01:00Z on the 29th, CEST (+02) after it.
    const days: [number, number][] = [
      [ms('2026-03-27T23:00:00Z'), ms('2026-03-28T23:00:00Z')],
      [ms('2026-03-28T23:00:00Z'), ms('2026-03-29T22:00:00Z')],
      [ms('2026-03-29T22:00:00Z'), ms('2026-03-30T22:00:00Z')],
    ];
    expect(days[1]![1] - days[1]![0]).toBe(23 * H);
    // From and to off the minute, so the raw edges join the rollup in local buckets too.
    const from = ms('2026-03-28T05:00:30Z');
    const to = ms('2026-03-30T21:59:45Z');
    const got = await series({ userId: u, from: iso(from), to: iso(to), bucket: 'DAY', timeZone: 'Europe/Berlin' });
    expectBuckets(got, aggregate(rows, days, from, to));
    expect(got[1]!.count).toBe(rows.filter((r) => ms(r.time) >= days[1]![0] && ms(r.time) < days[1]![1]).length);
    expect(got[1]!.count).toBe(23 * 12);

    // The same range in UTC days: the epoch grid, unchanged.
    const utc = await series({ userId: u, from: iso(from), to: iso(to), bucket: 'DAY' });
    const utcDays: [number, number][] = [0, 1, 2].map((i) => [
      ms('2026-03-28T00:00:00Z') + i * 24 * H,
      ms('2026-03-28T00:00:00Z') + (i + 1) * 24 * H,
    ]);
    expectBuckets(utc, aggregate(rows, utcDays, from, to));

    // Local hours of that day: 23 of them, the hour 02:00-03:00 never happens.
    const hours = await series({
      userId: u,
      from: iso(days[1]![0]),
      to: iso(days[1]![1]),
      bucket: 'HOUR',
      timeZone: 'Europe/Berlin',
    });
    expect(hours).toHaveLength(23);
    const hourBounds = Array.from({ length: 23 }, (_, i): [number, number] => [
      days[1]![0] + i * H,
      days[1]![0] + (i + 1) * H,
    ]);
    expectBuckets(hours, aggregate(rows, hourBounds, days[1]![0], days[1]![1]));
  });

  it('has a 25-hour local day on 2026-10-25 in Europe/Berlin, the repeated hour twice', async () => {
    const u = user('local-autumn');
    const rows = readings(u, ms('2026-10-24T20:00:00Z'), ms('2026-10-26T01:00:00Z'), 5 * MIN, 2);
    await insert(rows);
    const dayStart = ms('2026-10-24T22:00:00Z'); // 00:00 CEST
    const dayEnd = ms('2026-10-25T23:00:00Z'); // 00:00 CET the next day
    const day = await series({
      userId: u,
      from: iso(dayStart),
      to: iso(dayEnd),
      bucket: 'DAY',
      timeZone: 'Europe/Berlin',
    });
    expectBuckets(day, aggregate(rows, [[dayStart, dayEnd]], dayStart, dayEnd));
    expect(day[0]!.count).toBe(25 * 12);

    const hours = await series({
      userId: u,
      from: iso(dayStart),
      to: iso(dayEnd),
      bucket: 'HOUR',
      timeZone: 'Europe/Berlin',
    });
    expect(hours).toHaveLength(25);
    // 02:00 CEST (00:00Z) and 02:00 CET (01:00Z): two buckets.
    expect(hours.slice(2, 4).map((p) => p.time)).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z']);
    const hourBounds = Array.from({ length: 25 }, (_, i): [number, number] => [
      dayStart + i * H,
      dayStart + (i + 1) * H,
    ]);
    expectBuckets(hours, aggregate(rows, hourBounds, dayStart, dayEnd));
  });

  it('starts Asia/Kolkata hours at half past the UTC hour; sub-hour buckets stay on the epoch', async () => {
    const u = user('local-kolkata');
    const rows = readings(u, ms('2026-01-01T00:00:00Z'), ms('2026-01-01T03:00:00Z'), MIN, 3);
    await insert(rows);
    const from = ms('2026-01-01T00:00:00Z');
    const to = ms('2026-01-01T03:00:00Z');
    const got = await series({ userId: u, from: iso(from), to: iso(to), bucket: 'HOUR', timeZone: 'Asia/Kolkata' });
    const bounds = [-1, 0, 1, 2].map((i): [number, number] => [from + i * H + H / 2, from + (i + 1) * H + H / 2]);
    expectBuckets(got, aggregate(rows, bounds, from, to));
    expect(got.map((p) => p.count)).toEqual([30, 60, 60, 30]);
    const quarter = await series({
      userId: u,
      from: iso(from),
      to: iso(to),
      bucket: 'FIFTEEN_MINUTES',
      timeZone: 'Asia/Kolkata',
    });
    expect(quarter).toHaveLength(12);
    for (const p of quarter) expect(ms(p.time) % (15 * MIN)).toBe(0);
  });

  describe('gap filling', () => {
    // Berlin hours are UTC hours shifted by whole hours: the buckets below are UTC hours.
    const from = '2026-05-02T00:00:00Z';
    const to = '2026-05-02T08:00:00Z';
    const hour = (i: number) => iso(ms(from) + i * H);
    let withPrior: string;
    let withoutPrior: string;

    beforeAll(async () => {
      withPrior = user('fill-prior');
      withoutPrior = user('fill-none');
      await insert([
        { user: withPrior, time: '2026-05-01T18:00:00Z', value: 40 },
        { user: withPrior, time: '2026-05-01T20:00:00Z', value: 50 }, // the last before from
        { user: withPrior, time: '2026-05-02T02:10:00Z', value: 60 },
        { user: withPrior, time: '2026-05-02T02:20:00Z', value: 70 },
        { user: withPrior, time: '2026-05-02T05:30:00Z', value: 95 },
        { user: withPrior, time: '2026-05-02T08:00:00Z', value: 200 }, // at to: outside
        { user: withoutPrior, time: '2026-05-02T03:00:00Z', value: 10 },
        { user: withoutPrior, time: '2026-05-02T06:59:00Z', value: 30 },
      ]);
    });

    it('PREVIOUS: every bucket, empty ones carry the bucket before (the reading before from first)', async () => {
      const got = await series({
        userId: withPrior,
        from,
        to,
        bucket: 'HOUR',
        timeZone: 'Europe/Berlin',
        fill: 'PREVIOUS',
      });
      const prior = { count: 0, avg: 50, min: 50, max: 50, sum: 50, filled: true };
      const second = { count: 0, avg: 65, min: 60, max: 70, sum: 130, filled: true };
      const fifth = { count: 0, avg: 95, min: 95, max: 95, sum: 95, filled: true };
      expect(got).toEqual([
        { time: hour(0), ...prior },
        { time: hour(1), ...prior },
        { time: hour(2), count: 2, avg: 65, min: 60, max: 70, sum: 130, filled: false },
        { time: hour(3), ...second },
        { time: hour(4), ...second },
        { time: hour(5), count: 1, avg: 95, min: 95, max: 95, sum: 95, filled: false },
        { time: hour(6), ...fifth },
        { time: hour(7), ...fifth },
      ]);
    });

    it('LINEAR: interpolated in time between neighbours, carried forward after the last bucket', async () => {
      const got = await series({ userId: withPrior, from, to, bucket: 'HOUR', fill: 'LINEAR' });
      expect(got.map((p) => p.time)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map(hour));
      // Left anchor: the reading before from, at its own time (20:00Z, 50); right: hour 2 (avg 65).
      const line = (a: number, b: number, f: number) => a + (b - a) * f;
      const priorAt = ms('2026-05-01T20:00:00Z');
      const f0 = (ms(hour(0)) - priorAt) / (ms(hour(2)) - priorAt);
      expect(got[0]!.avg).toBeCloseTo(line(50, 65, f0), 9);
      expect(got[0]!.min).toBeCloseTo(line(50, 60, f0), 9);
      expect(got[0]!.sum).toBeCloseTo(line(50, 130, f0), 9);
      // Between hour 2 (65, min 60, max 70) and hour 5 (95): a third and two thirds of the way.
      expect(got[3]!.avg).toBeCloseTo(75, 9);
      expect(got[4]!.avg).toBeCloseTo(85, 9);
      expect(got[4]!.max).toBeCloseTo(line(70, 95, 2 / 3), 9);
      expect(got[6]).toMatchObject({ count: 0, avg: 95, filled: true });
      expect(got[7]).toMatchObject({ count: 0, avg: 95, filled: true });
      expect(got.filter((p) => !p.filled).map((p) => p.count)).toEqual([2, 1]);
    });

    it('leaves out buckets before the first reading when there is none before from, also on User.series', async () => {
      const res = await gw.gql<{ users: { id: string; series: Point[] }[] }>(USERS_SERIES, {
        ids: [withoutPrior, withPrior],
        from,
        to,
        timeZone: 'Europe/Berlin',
        fill: 'PREVIOUS',
      });
      expect(res.errors).toBeUndefined();
      const [none, prior] = res.data!.users;
      expect(none!.series.map((p) => [p.time, p.count, p.avg, p.filled])).toEqual([
        [hour(3), 1, 10, false],
        [hour(4), 0, 10, true],
        [hour(5), 0, 10, true],
        [hour(6), 1, 30, false],
        [hour(7), 0, 30, true],
      ]);
      expect(prior!.series).toHaveLength(8);
      expect(prior!.series[0]).toMatchObject({ count: 0, avg: 50, filled: true });
    });

    it('fills local days across the spring change from the reading before the range', async () => {
      const u = user('fill-days');
      await insert([
        { user: u, time: '2026-03-20T12:00:00Z', value: 80 },
        { user: u, time: '2026-03-29T12:00:00Z', value: 90 },
      ]);
      const got = await series({
        userId: u,
        from: '2026-03-27T23:00:00Z',
        to: '2026-03-31T22:00:00Z',
        bucket: 'DAY',
        timeZone: 'Europe/Berlin',
        fill: 'PREVIOUS',
      });
      expect(got.map((p) => [p.time, p.count, p.avg])).toEqual([
        ['2026-03-27T23:00:00.000Z', 0, 80], // 28 March, from the reading of the 20th
        ['2026-03-28T23:00:00.000Z', 1, 90], // 29 March, 23 hours
        ['2026-03-29T22:00:00.000Z', 0, 90],
        ['2026-03-30T22:00:00.000Z', 0, 90],
      ]);
    });
  });

  describe('maxPoints', () => {
    let u: string;
    let rows: Row[];
    const from = '2026-02-01T00:00:00Z';
    const to = '2026-03-03T00:00:00Z'; // 30 days: 43,200 MINUTE buckets, over the 10,000 budget

    beforeAll(async () => {
      u = user('downsample');
      rows = readings(u, ms(from), ms(to), 7 * MIN, 4);
      // One spike and one dip, each a single reading in a single minute.
      rows.push({ user: u, time: '2026-02-13T13:13:13Z', value: 249.5 });
      rows.push({ user: u, time: '2026-02-21T21:21:21Z', value: 20.25 });
      await insert(rows);
    });

    it('answers a range over the budget at MINUTE with at most maxPoints points, keeping min, max, counts and sums', async () => {
      const tooMany = await gw.gql(SERIES, { userId: u, from, to, bucket: 'MINUTE' });
      expect(code(tooMany)).toBe('TOO_MANY_POINTS');
      for (const maxPoints of [500, 37, 1]) {
        const got = await series({ userId: u, from, to, bucket: 'MINUTE', maxPoints });
        expect(got.length).toBeLessThanOrEqual(maxPoints);
        expect(got.length).toBeGreaterThanOrEqual(Math.min(maxPoints, 1));
        expect(Math.max(...got.map((p) => p.max))).toBe(249.5);
        expect(Math.min(...got.map((p) => p.min))).toBe(20.25);
        expect(got.reduce((a, p) => a + p.count, 0)).toBe(rows.length);
        expect(got.reduce((a, p) => a + p.sum, 0)).toBeCloseTo(
          rows.reduce((a, r) => a + r.value, 0),
          4,
        );
        for (const p of got) expect(p.avg).toBeCloseTo(p.sum / p.count, 9);
        expect(got.map((p) => p.time)).toEqual([...got.map((p) => p.time)].sort());
      }
    });

    it('downsamples local hours and filled series too', async () => {
      const got = await series({
        userId: u,
        from,
        to,
        bucket: 'HOUR',
        timeZone: 'Europe/Berlin',
        fill: 'LINEAR',
        maxPoints: 100,
      });
      expect(got.length).toBeLessThanOrEqual(100);
      expect(Math.max(...got.map((p) => p.max))).toBe(249.5);
      expect(Math.min(...got.map((p) => p.min))).toBe(20.25);
      expect(got.reduce((a, p) => a + p.count, 0)).toBe(rows.length);
    });

    it('refuses maxPoints outside 1 to the budget with BAD_USER_INPUT', async () => {
      for (const maxPoints of [0, -5, config.postgres.seriesMaxPoints + 1]) {
        const res = await gw.gql(SERIES, { userId: u, from, to, bucket: 'HOUR', maxPoints });
        expect(code(res), String(maxPoints)).toBe('BAD_USER_INPUT');
      }
    });
  });

  it('refuses unknown time zones with INVALID_TIME_ZONE on series, User.series and cohortStats', async () => {
    const u = user('bad-zone');
    for (const timeZone of ['Mars/Olympus', '+05:30', 'Europe/Berlin; DROP TABLE readings', '']) {
      const res = await gw.gql(SERIES, {
        userId: u,
        from: '2026-01-01T00:00:00Z',
        to: '2026-01-02T00:00:00Z',
        bucket: 'DAY',
        timeZone,
      });
      expect(code(res), timeZone).toBe('INVALID_TIME_ZONE');
    }
    const viaUser = await gw.gql(USERS_SERIES, {
      ids: [u],
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-02T00:00:00Z',
      timeZone: 'Nowhere/Town',
    });
    expect(code(viaUser)).toBe('INVALID_TIME_ZONE');
    const cohort = await gw.gql(
      `{ cohortStats(metric: HEART_RATE, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", bucket: DAY, timeZone: "Mars/Olympus") { time } }`,
    );
    expect(code(cohort)).toBe('INVALID_TIME_ZONE');
    // Case does not matter, as in Postgres and Intl.
    await series({
      userId: u,
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-02T00:00:00Z',
      bucket: 'DAY',
      timeZone: 'europe/berlin',
    });
  });
});

describe('cohortStats in local time (Trino)', () => {
  const trino = createTrinoService({ config, source: uniqueId('fitbit-test-local') });
  let pool: pg.Pool;
  const users = [uniqueId('cohort-local-a'), uniqueId('cohort-local-b'), uniqueId('cohort-local-c')];
  // Spring DST change in Berlin (last Sunday of March, 01:00Z) of a random year of its own,
  // so no other test's readings share the window (trino-queries.test.ts seeds 2001-2020).
  const year = 1981 + Math.floor(Math.random() * 15);
  const march31 = new Date(Date.UTC(year, 2, 31));
  const sunday = Date.UTC(year, 2, 31 - march31.getUTCDay());
  const dayStart = sunday - H; // local midnight, CET
  const dayEnd = sunday + 22 * H; // the next local midnight, CEST: a 23-hour day
  const rows: Row[] = [];

  beforeAll(async () => {
    pool = createPool(config.postgres, createLogger(config, 'cohort-local-test'), {
      max: 2,
      applicationName: 'fitbit-test',
    });
    await migrate(pool);
    users.forEach((u, i) => rows.push(...readings(u, dayStart - 3 * H, dayEnd + 3 * H, 10 * MIN, 10 + i)));
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT u, 'heart_rate', t, v FROM unnest($1::text[], $2::timestamptz[], $3::float8[]) AS x(u, t, v)
       ON CONFLICT DO NOTHING`,
      [rows.map((r) => r.user), rows.map((r) => r.time), rows.map((r) => r.value)],
    );
    await trino.start();
  });

  afterAll(async () => {
    await trino.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    await pool?.end();
  });

  it('groups local days and hours of Europe/Berlin, a 23-hour day', async () => {
    const from = new Date(dayStart - 2 * H);
    const to = new Date(dayEnd + 2 * H);
    const days = await trino.cohortStats('heart_rate', from, to, 'DAY', { timeZone: 'Europe/Berlin' });
    const want = aggregate(
      rows,
      [
        [dayStart - 24 * H, dayStart],
        [dayStart, dayEnd],
        [dayEnd, dayEnd + 24 * H],
      ],
      from.getTime(),
      to.getTime(),
    );
    expect(days.map((p) => [p.time.toISOString(), p.count, p.users])).toEqual(want.map((w) => [w.time, w.count, 3]));
    days.forEach((p, i) => {
      expect(p.min).toBe(want[i]!.min);
      expect(p.max).toBe(want[i]!.max);
      expect(p.avg).toBeCloseTo(want[i]!.sum / want[i]!.count, 9);
    });
    expect(days[1]!.count).toBe(3 * 23 * 6);

    const hours = await trino.cohortStats('heart_rate', new Date(dayStart), new Date(dayEnd), 'HOUR', {
      timeZone: 'Europe/Berlin',
    });
    expect(hours).toHaveLength(23);
    expect(hours.map((p) => p.time.getTime())).toEqual(Array.from({ length: 23 }, (_, i) => dayStart + i * H));
    expect(hours.every((p) => p.count === 18)).toBe(true);
  });

  it('refuses an unknown zone before asking Trino', async () => {
    const err = await trino
      .cohortStats('heart_rate', new Date(dayStart), new Date(dayEnd), 'DAY', { timeZone: 'Mars/Olympus' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrinoError);
    expect((err as TrinoError).code).toBe('INVALID_TIME_ZONE');
  });
});
