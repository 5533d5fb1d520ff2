/**
 * `series` in a time zone, with gap filling and downsampling, through a real gateway over HTTP
 * against real Postgres. Every expected figure is this file's own arithmetic over the readings it
 * wrote: Europe/Berlin's day and hour boundaries around the DST changes of 2025 are written out
 * by hand (CET = UTC+1, CEST = UTC+2; clocks jump 02:00 -> 03:00 on 30 March and 03:00 -> 02:00
 * on 26 October).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
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
interface Reading {
  t: number;
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
const USER_SERIES = /* GraphQL */ `
  query UserSeries($ids: [ID!]!, $from: DateTime!, $to: DateTime!, $timeZone: String, $fill: Fill) {
    users(ids: $ids) {
      id
      series(metric: HEART_RATE, from: $from, to: $to, bucket: DAY, timeZone: $timeZone, fill: $fill) {
        time
        count
        sum
        filled
      }
    }
  }
`;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const MIN = 60_000;
const HOUR = 3_600_000;
const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

/** Aggregates of the readings in [from, to), this file's own way. */
function agg(readings: readonly Reading[], from: number, to: number) {
  const vs = readings.filter((r) => r.t >= from && r.t < to).map((r) => r.value);
  const sum = vs.reduce((a, b) => a + b, 0);
  return { count: vs.length, sum, min: Math.min(...vs), max: Math.max(...vs), avg: sum / vs.length };
}

function expectClose(got: Point, want: { count: number; sum: number; min: number; max: number; avg: number }) {
  expect(got.count).toBe(want.count);
  expect(got.min).toBe(want.min);
  expect(got.max).toBe(want.max);
  expect(got.sum).toBeCloseTo(want.sum, 6);
  expect(got.avg).toBeCloseTo(want.avg, 9);
}

describe('series in a time zone, filled and downsampled', () => {
  let gw: TestGateway;
  let pool: pg.Pool;
  const dst = uniqueId('tz-dst');
  const gaps = uniqueId('tz-gaps');
  const lonely = uniqueId('tz-lonely');
  const week = uniqueId('tz-week');
  const data = new Map<string, Reading[]>();

  async function seed(user: string, readings: Reading[]): Promise<void> {
    data.set(user, readings);
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT $1, 'heart_rate', to_timestamp(t / 1000.0), v FROM unnest($2::float8[], $3::float8[]) AS x(t, v)`,
      [user, readings.map((r) => r.t), readings.map((r) => r.value)],
    );
  }

  const series = async (vars: Record<string, unknown>) => {
    const res = await gw.gql<{ series: Point[] }>(SERIES, vars);
    expect(res.errors).toBeUndefined();
    return res.data!.series;
  };

  beforeAll(async () => {
    pool = createPool(config, createLogger(config, 'tz-test'), { max: 2, applicationName: 'fitbit-test' });
    await migrate(pool);
    // Every 7 minutes across both DST weekends (values cycle so each day's figures differ).
    const dstReadings: Reading[] = [];
    for (const [a, b] of [
      ['2025-03-28T00:00:00Z', '2025-04-01T00:00:00Z'],
      ['2025-10-24T00:00:00Z', '2025-10-28T00:00:00Z'],
    ] as const) {
      for (let t = ms(a), i = 0; t < ms(b); t += 7 * MIN, i += 1) dstReadings.push({ t, value: 50 + ((i * 13) % 97) });
    }
    await seed(dst, dstReadings);
    // Hours 10:00Z..16:00Z of one day, readings only in the hours 11, 14 and 15, plus one at 08:00Z.
    await seed(gaps, [
      { t: ms('2025-06-02T08:00:00Z'), value: 60 },
      { t: ms('2025-06-02T11:10:00Z'), value: 70 },
      { t: ms('2025-06-02T11:40:00Z'), value: 80 },
      { t: ms('2025-06-02T14:20:00Z'), value: 110 },
      { t: ms('2025-06-02T15:05:00Z'), value: 90 },
    ]);
    await seed(lonely, [{ t: ms('2025-06-02T13:30:00Z'), value: 100 }]);
    // A week every 5 minutes with one spike up and one down.
    const weekReadings: Reading[] = [];
    for (let t = ms('2025-07-07T00:00:00Z'), i = 0; t < ms('2025-07-14T00:00:00Z'); t += 5 * MIN, i += 1) {
      weekReadings.push({ t, value: 60 + ((i * 7) % 41) });
    }
    weekReadings[777]!.value = 249;
    weekReadings[1500]!.value = 21;
    await seed(week, weekReadings);
    gw = await startGateway();
  });

  afterAll(async () => {
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [[dst, gaps, lonely, week]]);
    await pool?.end();
  });

  it('Berlin days around the spring change: midnight to midnight, the change day 23 hours', async () => {
    const got = await series({
      userId: dst,
      from: '2025-03-28T23:00:00Z',
      to: '2025-03-31T22:00:00Z',
      bucket: 'DAY',
      timeZone: 'Europe/Berlin',
    });
    const bounds = ['2025-03-28T23:00:00Z', '2025-03-29T23:00:00Z', '2025-03-30T22:00:00Z', '2025-03-31T22:00:00Z'];
    expect(got.map((p) => p.time)).toEqual(bounds.slice(0, 3).map((b) => iso(ms(b))));
    got.forEach((p, i) => expectClose(p, agg(data.get(dst)!, ms(bounds[i]!), ms(bounds[i + 1]!))));
    expect(ms(bounds[2]!) - ms(bounds[1]!)).toBe(23 * HOUR);
  });

  it('Berlin days and hours around the autumn change: a 25-hour day of 25 HOUR buckets', async () => {
    const days = await series({
      userId: dst,
      from: '2025-10-24T22:00:00Z',
      to: '2025-10-27T23:00:00Z',
      bucket: 'DAY',
      timeZone: 'Europe/Berlin',
    });
    const bounds = ['2025-10-24T22:00:00Z', '2025-10-25T22:00:00Z', '2025-10-26T23:00:00Z', '2025-10-27T23:00:00Z'];
    expect(days.map((p) => p.time)).toEqual(bounds.slice(0, 3).map((b) => iso(ms(b))));
    days.forEach((p, i) => expectClose(p, agg(data.get(dst)!, ms(bounds[i]!), ms(bounds[i + 1]!))));

    const hours = await series({
      userId: dst,
      from: bounds[1],
      to: bounds[2],
      bucket: 'HOUR',
      timeZone: 'Europe/Berlin',
    });
    expect(hours).toHaveLength(25);
    hours.forEach((p, i) => {
      const start = ms(bounds[1]!) + i * HOUR;
      expect(p.time).toBe(iso(start));
      expectClose(p, agg(data.get(dst)!, start, start + HOUR));
    });
    // The same range in UTC days is cut at UTC midnight instead.
    const utc = await series({ userId: dst, from: bounds[1], to: bounds[2], bucket: 'DAY' });
    expect(utc.map((p) => p.time)).toEqual([
      '2025-10-25T00:00:00.000Z',
      '2025-10-26T00:00:00.000Z',
    ]);
  });

  it('local hours of a half-hour zone start at :30 UTC', async () => {
    const got = await series({
      userId: dst,
      from: '2025-03-28T00:30:00Z',
      to: '2025-03-28T03:30:00Z',
      bucket: 'HOUR',
      timeZone: 'Asia/Kolkata',
    });
    expect(got.map((p) => p.time)).toEqual(
      ['00:30', '01:30', '02:30'].map((h) => `2025-03-28T${h}:00.000Z`),
    );
    got.forEach((p) => expectClose(p, agg(data.get(dst)!, ms(p.time), ms(p.time) + HOUR)));
  });

  it('PREVIOUS: every hour present, empty ones carry the hour before, leading ones the reading before from', async () => {
    const got = await series({
      userId: gaps,
      from: '2025-06-02T10:00:00Z',
      to: '2025-06-02T17:00:00Z',
      bucket: 'HOUR',
      fill: 'PREVIOUS',
    });
    const h = (x: number) => `2025-06-02T${String(x).padStart(2, '0')}:00:00.000Z`;
    expect(got.map((p) => [p.time, p.count, p.filled, p.avg, p.min, p.max, p.sum])).toEqual([
      [h(10), 0, true, 60, 60, 60, 60], // the 08:00 reading, before from
      [h(11), 2, false, 75, 70, 80, 150],
      [h(12), 0, true, 75, 70, 80, 150],
      [h(13), 0, true, 75, 70, 80, 150],
      [h(14), 1, false, 110, 110, 110, 110],
      [h(15), 1, false, 90, 90, 90, 90],
      [h(16), 0, true, 90, 90, 90, 90],
    ]);
  });

  it('LINEAR: empty hours interpolated between neighbours by start time; no prior reading, no leading buckets', async () => {
    const got = await series({
      userId: gaps,
      from: '2025-06-02T11:00:00Z',
      to: '2025-06-02T17:00:00Z',
      bucket: 'HOUR',
      fill: 'LINEAR',
    });
    expect(got.map((p) => p.count)).toEqual([2, 0, 0, 1, 1, 0]);
    // 11:00 avg 75 (min 70, max 80, sum 150) -> 14:00 110 (110, 110, 110): a third and two thirds of the way.
    expect(got[1]!.avg).toBeCloseTo(75 + 35 / 3, 9);
    expect(got[2]!.avg).toBeCloseTo(75 + 70 / 3, 9);
    expect(got[1]!.min).toBeCloseTo(70 + 40 / 3, 9);
    expect(got[2]!.max).toBeCloseTo(80 + 60 / 3, 9);
    expect(got[1]!.sum).toBeCloseTo(150 - 40 / 3, 9);
    expect(got[5]).toMatchObject({ filled: true, avg: 90 });

    const lone = await series({
      userId: lonely,
      from: '2025-06-02T10:00:00Z',
      to: '2025-06-02T17:00:00Z',
      bucket: 'HOUR',
      fill: 'LINEAR',
    });
    // Nothing before 13:00 and no reading before from: the hours before are left out.
    expect(lone.map((p) => [p.time.slice(11, 16), p.count, p.filled])).toEqual([
      ['13:00', 1, false],
      ['14:00', 0, true],
      ['15:00', 0, true],
      ['16:00', 0, true],
    ]);
  });

  it('User.series takes the same arguments (local days, filled) through the batch', async () => {
    const res = await gw.gql<{ users: { id: string; series: Pick<Point, 'time' | 'count' | 'sum' | 'filled'>[] }[] }>(
      USER_SERIES,
      { ids: [gaps, lonely], from: '2025-06-01T22:00:00Z', to: '2025-06-04T22:00:00Z', timeZone: 'Europe/Berlin', fill: 'PREVIOUS' },
    );
    expect(res.errors).toBeUndefined();
    const [g, l] = res.data!.users;
    expect(g!.series.map((p) => [p.time, p.count, p.filled])).toEqual([
      ['2025-06-01T22:00:00.000Z', 5, false],
      ['2025-06-02T22:00:00.000Z', 0, true],
      ['2025-06-03T22:00:00.000Z', 0, true],
    ]);
    expect(g!.series[0]!.sum).toBe(410);
    expect(l!.series.map((p) => [p.count, p.sum])).toEqual([
      [1, 100],
      [0, 100],
      [0, 100],
    ]);
  });

  it('a week at MINUTE is refused without maxPoints and answered within maxPoints with the extremes kept', async () => {
    const vars = { userId: week, from: '2025-07-07T00:00:00Z', to: '2025-07-14T00:00:00Z', bucket: 'MINUTE' };
    const refused = await gw.gql(SERIES, vars);
    expect(refused.errors?.[0]?.extensions?.code).toBe('TOO_MANY_POINTS');

    const got = await series({ ...vars, maxPoints: 500 });
    // 10,080 minutes into at most 500 points: groups of ceil(10080 / 500) = 21 minutes from `from`.
    const k = 21;
    expect(got.length).toBeLessThanOrEqual(500);
    const readings = data.get(week)!;
    const from = ms(vars.from);
    const groups = new Map<number, Reading[]>();
    for (const r of readings) {
      const g = from + Math.floor((r.t - from) / (k * MIN)) * k * MIN;
      groups.set(g, [...(groups.get(g) ?? []), r]);
    }
    expect(got.map((p) => p.time)).toEqual([...groups.keys()].map(iso));
    got.forEach((p) => expectClose(p, agg(readings, ms(p.time), ms(p.time) + k * MIN)));
    expect(Math.max(...got.map((p) => p.max))).toBe(249);
    expect(Math.min(...got.map((p) => p.min))).toBe(21);
    expect(got.reduce((a, p) => a + p.count, 0)).toBe(readings.length);
  });

  it('local hours downsampled: the 25-hour day into at most 10 points, extremes kept', async () => {
    const got = await series({
      userId: dst,
      from: '2025-10-25T22:00:00Z',
      to: '2025-10-26T23:00:00Z',
      bucket: 'HOUR',
      timeZone: 'Europe/Berlin',
      maxPoints: 10,
    });
    // 25 hours, k = 3: groups start every 3 hours from local midnight.
    expect(got.map((p) => p.time)).toEqual(
      Array.from({ length: 9 }, (_, i) => iso(ms('2025-10-25T22:00:00Z') + i * 3 * HOUR)),
    );
    got.forEach((p) => expectClose(p, agg(data.get(dst)!, ms(p.time), Math.min(ms(p.time) + 3 * HOUR, ms('2025-10-26T23:00:00Z')))));
  });

  it('refuses unknown zones and bad maxPoints with their codes', async () => {
    const base = { userId: dst, from: '2025-03-28T00:00:00Z', to: '2025-03-29T00:00:00Z', bucket: 'HOUR' };
    for (const timeZone of ['Mars/Olympus_Mons', '+02:00', "Europe/Berlin' --"]) {
      const res = await gw.gql(SERIES, { ...base, timeZone });
      expect(res.errors?.[0]?.extensions?.code).toBe('INVALID_TIME_ZONE');
    }
    const res = await gw.gql(SERIES, { ...base, maxPoints: 0 });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
