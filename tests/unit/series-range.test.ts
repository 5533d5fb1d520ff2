/** The pure rules behind series/readings: ranges, point budgets, ids, cursors, SQL text. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { checkRange, checkSeriesRange, checkUserId } from '../../src/timescale/series.range.js';
import { decodeCursor, encodeCursor } from '../../src/timescale/readings.cursor.js';
import { bucketInterval, seriesForUsersSql, seriesSql } from '../../src/timescale/series.sql.js';
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
