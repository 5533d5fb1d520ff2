/** The pure rules behind series/readings: ranges, point budgets, ids, cursors, SQL text. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { checkRange, checkSeriesRange, checkUserId, planSeries } from '../../src/timescale/series.range.js';
import { decodeCursor, encodeCursor } from '../../src/timescale/readings.cursor.js';
import { classifyDbError } from '../../src/timescale/pg.failure.js';
import { bucketInterval, seriesForUsersSql, seriesSql, seriesStatement } from '../../src/timescale/series.sql.js';
import { checkFirst } from '../../src/timescale/readings.service.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof AppError ? err.code : `not an AppError: ${String(err)}`;
  }
};
const d = (s: string) => new Date(s);
const limits = { maxPoints: 10_000, maxDays: 366 };

describe('series ranges', () => {
  it('accepts a range up to the point budget and refuses one bucket more', () => {
    // 10,000 minutes exactly, then 10,001.
    expect(
      codeOf(() =>
        checkSeriesRange(
          d('2025-01-01T00:00:00Z'),
          new Date(Date.parse('2025-01-01T00:00:00Z') + 10_000 * 60_000),
          'MINUTE',
          limits,
        ),
      ),
    ).toBeUndefined();
    expect(
      codeOf(() =>
        checkSeriesRange(
          d('2025-01-01T00:00:00Z'),
          new Date(Date.parse('2025-01-01T00:00:00Z') + 10_000 * 60_000 + 1),
          'MINUTE',
          limits,
        ),
      ),
    ).toBe('TOO_MANY_POINTS');
    expect(codeOf(() => checkSeriesRange(d('2025-01-01T00:00:00Z'), d('2025-01-02T00:00:00Z'), 'SECOND', limits))).toBe(
      'TOO_MANY_POINTS',
    );
  });

  it('refuses inverted, empty and over-long ranges', () => {
    expect(codeOf(() => checkRange(d('2025-01-02T00:00:00Z'), d('2025-01-01T00:00:00Z'), 366))).toBe('INVALID_RANGE');
    expect(codeOf(() => checkRange(d('2025-01-01T00:00:00Z'), d('2025-01-01T00:00:00Z'), 366))).toBe('INVALID_RANGE');
    expect(codeOf(() => checkRange(d('2024-01-01T00:00:00Z'), d('2025-01-02T00:00:00Z'), 366))).toBe('INVALID_RANGE');
    expect(codeOf(() => checkRange(d('2024-01-01T00:00:00Z'), d('2025-01-01T00:00:00Z'), 366))).toBeUndefined();
    expect(codeOf(() => checkRange(new Date(Number.NaN), d('2025-01-01T00:00:00Z'), 366))).toBe('INVALID_RANGE');
  });

  it('checks user ids against the wire format', () => {
    expect(codeOf(() => checkUserId('user-42@site.example:1'))).toBeUndefined();
    for (const bad of ["' OR 1=1 --", '', 'a'.repeat(65), 'a b', 'ü', 42])
      expect(codeOf(() => checkUserId(bad))).toBe('INVALID_USER_ID');
  });

  it('pages between 1 and 1000, 100 by default', () => {
    expect(checkFirst(undefined)).toBe(100);
    expect(checkFirst(null)).toBe(100);
    expect(checkFirst(1000)).toBe(1000);
    for (const bad of [0, -5, 1001, 1.5]) expect(codeOf(() => checkFirst(bad))).toBe('BAD_USER_INPUT');
  });
});

describe('readings cursors', () => {
  it('round-trip microseconds, opaque base64url', () => {
    const c = encodeCursor('1751328000000007');
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c)).toBe('1751328000000007');
  });

  it('refuse anything else with INVALID_CURSOR', () => {
    for (const bad of [
      '',
      'abc',
      '!!!!',
      Buffer.from('r1:12; DROP').toString('base64url'),
      Buffer.from('r2:1').toString('base64url'),
      'x'.repeat(100),
    ]) {
      expect(
        codeOf(() => decodeCursor(bad)),
        bad,
      ).toBe('INVALID_CURSOR');
    }
  });
});

describe('series SQL', () => {
  it('binds every value; only the flavour and the source change the text', () => {
    for (const source of ['raw', 'rollup'] as const) {
      for (const sql of [
        seriesSql('plain', source),
        seriesSql('timescale', source),
        seriesForUsersSql('plain', source),
        seriesForUsersSql('timescale', source),
      ]) {
        expect(sql).toMatch(/\$1/);
        expect(sql).toMatch(/\$5::interval/);
        expect(sql).not.toMatch(/heart_rate|user-/);
      }
    }
    expect(seriesSql('plain', 'raw')).toMatch(/date_bin\(\$5::interval, time, TIMESTAMPTZ '1970-01-01 00:00:00\+00'\)/);
    expect(seriesSql('timescale', 'raw')).toMatch(/time_bucket\(\$5::interval, time\)/);
    expect(bucketInterval('FIFTEEN_MINUTES')).toBe('900 seconds');
  });
});

describe('planSeries: zones, point budget and maxPoints', () => {
  const limits = { maxPoints: 10_000, maxDays: 366 };
  const d = (s: string) => new Date(s);

  it('plans local hours and days outside UTC, the epoch grid in UTC and below an hour', () => {
    const base = { from: d('2026-10-24T22:00:00Z'), to: d('2026-10-25T23:00:00Z') };
    expect(planSeries({ ...base, bucket: 'HOUR', timeZone: 'Europe/Berlin' }, limits)).toMatchObject({
      grid: { kind: 'local', unit: 'hour', zone: 'Europe/Berlin' },
      points: 25,
      multiple: 1,
    });
    expect(planSeries({ ...base, bucket: 'DAY', timeZone: 'Europe/Berlin' }, limits).points).toBe(1);
    expect(planSeries({ ...base, bucket: 'DAY' }, limits).grid).toEqual({ kind: 'epoch', widthMs: 86_400_000 });
    expect(planSeries({ ...base, bucket: 'MINUTE', timeZone: 'Asia/Kolkata' }, limits).grid).toEqual({
      kind: 'epoch',
      widthMs: 60_000,
    });
  });

  it('counts local buckets against the budget: a 25-hour day is 25 HOUR points', () => {
    const day = { from: d('2026-10-24T22:00:00Z'), to: d('2026-10-25T23:00:00Z'), bucket: 'HOUR' as const };
    expect(() => planSeries({ ...day, timeZone: 'Europe/Berlin' }, { ...limits, maxPoints: 25 })).not.toThrow();
    expect(codeOf(() => planSeries({ ...day, timeZone: 'Europe/Berlin' }, { ...limits, maxPoints: 24 }))).toBe(
      'TOO_MANY_POINTS',
    );
  });

  it('lets a year at MINUTE through with maxPoints by asking for whole multiples of the bucket', () => {
    const year = { from: d('2025-01-01T00:00:00Z'), to: d('2026-01-01T00:00:00Z'), bucket: 'MINUTE' as const };
    expect(codeOf(() => planSeries(year, limits))).toBe('TOO_MANY_POINTS');
    const plan = planSeries({ ...year, maxPoints: 1000 }, limits);
    expect(plan.points).toBe(525_600);
    expect(plan.multiple).toBe(263);
    expect(Math.ceil(plan.points / plan.multiple)).toBeLessThanOrEqual(2000);
    expect(plan.grid).toEqual({ kind: 'epoch', widthMs: 263 * 60_000 });
    const local = planSeries({ ...year, bucket: 'HOUR', timeZone: 'Europe/Berlin', maxPoints: 100 }, limits);
    expect(local.grid).toEqual({ kind: 'wall', widthMs: 44 * 3_600_000, zone: 'Europe/Berlin' });
  });

  it('rounds SECOND multiples up to whole minutes so the rollup serves them', () => {
    const day = { from: d('2025-01-01T00:00:00Z'), to: d('2025-01-02T00:00:00Z'), bucket: 'SECOND' as const };
    expect(planSeries({ ...day, maxPoints: 500 }, limits).widthMs % 60_000).toBe(0);
    expect(planSeries({ ...day, maxPoints: 5000 }, limits).multiple).toBe(9);
  });

  it('refuses maxPoints outside 1 to the budget with BAD_USER_INPUT', () => {
    const r = { from: d('2025-01-01T00:00:00Z'), to: d('2025-01-02T00:00:00Z'), bucket: 'HOUR' as const };
    for (const bad of [0, -3, 1.5, 10_001])
      expect(codeOf(() => planSeries({ ...r, maxPoints: bad }, limits))).toBe('BAD_USER_INPUT');
    expect(planSeries({ ...r, maxPoints: 10_000 }, limits).maxPoints).toBe(10_000);
    expect(codeOf(() => planSeries({ ...r, timeZone: 'Nope/Zone' }, limits))).toBe('INVALID_TIME_ZONE');
  });
});

describe('series SQL in a time zone', () => {
  const args = { metric: 'heart_rate', from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z') };

  it('buckets local days by pieces of the epoch grid moved by the offset, every value a bind parameter', () => {
    // March 2026 in Berlin: CET, the 23-hour 29th, then CEST.
    const st = seriesStatement('plain', 'user-1', {
      ...args,
      bucket: 'DAY',
      grid: { kind: 'local', unit: 'day', zone: 'Europe/Berlin' },
    });
    expect(st.text).toMatch(/FROM readings_minute/);
    expect(st.text).toMatch(
      /CASE WHEN minute < \$8::timestamptz THEN date_bin\(\$5::interval, minute, \$9::timestamptz\) WHEN minute < \$10::timestamptz THEN \$11::timestamptz ELSE date_bin\(\$5::interval, minute, \$12::timestamptz\) END/,
    );
    expect(st.text).not.toMatch(/AT TIME ZONE|date_trunc|Berlin|heart_rate|user-1/);
    expect(st.values[4]).toBe('86400 seconds');
    const instants = (st.values.slice(7) as Date[]).map((d) => d.toISOString());
    expect(instants).toEqual([
      // CET midnights (the epoch grid moved by an hour) up to the change at 01:00Z on the 29th,
      '2026-03-29T01:00:00.000Z',
      '1969-12-31T23:00:00.000Z',
      // the rest of the 23-hour day under its label,
      '2026-03-29T22:00:00.000Z',
      '2026-03-28T23:00:00.000Z',
      // then CEST midnights.
      '1969-12-31T22:00:00.000Z',
    ]);
    // A zone without changes in the range, or local hours across whole-hour changes: one piece, no CASE.
    const kolkata = seriesStatement('timescale', 'user-1', {
      ...args,
      bucket: 'HOUR',
      grid: { kind: 'local', unit: 'hour', zone: 'Asia/Kolkata' },
    });
    expect(kolkata.text).not.toMatch(/CASE/);
    expect(kolkata.text).toMatch(/time_bucket\(\$5::interval, minute, \$8::timestamptz\)/);
    expect((kolkata.values[7] as Date).toISOString()).toBe('1969-12-31T18:30:00.000Z');
    const berlinHours = seriesStatement('plain', 'user-1', {
      ...args,
      bucket: 'HOUR',
      grid: { kind: 'local', unit: 'hour', zone: 'Europe/Berlin' },
    });
    expect(berlinHours.text).not.toMatch(/CASE/);
    expect(berlinHours.values).toHaveLength(8);
  });

  it('groups downsampling multiples on the wall clock of the zone, or the epoch grid', () => {
    const wall = seriesStatement('plain', 'u', {
      ...args,
      bucket: 'HOUR',
      grid: { kind: 'wall', widthMs: 6 * 3_600_000, zone: 'Europe/Berlin' },
    });
    expect(wall.text).toMatch(
      /date_bin\(\$5::interval, minute AT TIME ZONE \$8::text, TIMESTAMP '1970-01-01 00:00:00'\) AT TIME ZONE \$8::text/,
    );
    expect(wall.values[4]).toBe('21600 seconds');
    const epoch = seriesStatement('timescale', 'u', {
      ...args,
      bucket: 'MINUTE',
      grid: { kind: 'epoch', widthMs: 7 * 60_000 },
    });
    expect(epoch.text).toMatch(/time_bucket\(\$5::interval, minute, TIMESTAMPTZ '1970-01-01 00:00:00\+00'\)/);
    expect(epoch.values).toHaveLength(7);
    // Without a grid: the statement the series service always sent.
    expect(seriesStatement('plain', 'u', { ...args, bucket: 'MINUTE' }).text).toBe(seriesSql('plain', 'rollup'));
  });

  it("turns Postgres's unknown zone error into INVALID_TIME_ZONE", () => {
    const err = Object.assign(new Error('time zone "Mars/Olympus" not recognized'), { code: '22023' });
    expect((classifyDbError(err) as AppError).code).toBe('INVALID_TIME_ZONE');
  });
});
