/**
 * Which source a series reads (per-minute rollup or raw readings) and how a range splits into
 * whole minutes and raw edges: pure, so checked without a database. The equality of the answers
 * is checked against real Postgres in tests/integration/series-rollup.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BUCKETS, type BucketName } from '../../src/domain/metrics.js';
import {
  ROLLUP_MS,
  rollupBounds,
  seriesForUsersSql,
  seriesForUsersStatement,
  seriesSource,
  seriesSql,
  seriesStatement,
} from '../../src/timescale/series.sql.js';

const ms = (s: string) => Date.parse(s);
const iso = (n: number) => new Date(n).toISOString();
const bounds = (from: string, to: string) => {
  const b = rollupBounds(ms(from), ms(to));
  return [iso(b.wholeFromMs), iso(b.wholeToMs)];
};

describe('seriesSource', () => {
  it('reads the rollup for every bucket of whole minutes and the raw readings for SECOND', () => {
    const sources = Object.fromEntries(Object.keys(BUCKETS).map((b) => [b, seriesSource(b as BucketName)]));
    expect(sources).toEqual({
      SECOND: 'raw',
      MINUTE: 'rollup',
      FIVE_MINUTES: 'rollup',
      FIFTEEN_MINUTES: 'rollup',
      HOUR: 'rollup',
      DAY: 'rollup',
    });
  });
});

describe('rollupBounds', () => {
  it('keeps minute-aligned bounds as they are: no raw edge', () => {
    expect(bounds('2025-06-01T00:00:00.000Z', '2025-06-02T00:00:00.000Z')).toEqual([
      '2025-06-01T00:00:00.000Z',
      '2025-06-02T00:00:00.000Z',
    ]);
  });

  it('rounds from up and to down to whole minutes', () => {
    expect(bounds('2025-06-01T10:15:30.250Z', '2025-06-01T12:40:05.001Z')).toEqual([
      '2025-06-01T10:16:00.000Z',
      '2025-06-01T12:40:00.000Z',
    ]);
    // One millisecond past a minute is a whole minute of edge but for that millisecond.
    expect(bounds('2025-06-01T10:15:00.001Z', '2025-06-01T10:17:59.999Z')).toEqual([
      '2025-06-01T10:16:00.000Z',
      '2025-06-01T10:17:00.000Z',
    ]);
  });

  it('turns a range inside one minute into all edge, and one across a single boundary into two edges', () => {
    expect(bounds('2025-06-01T10:15:10Z', '2025-06-01T10:15:50Z')).toEqual([
      '2025-06-01T10:15:50.000Z',
      '2025-06-01T10:15:50.000Z',
    ]);
    expect(bounds('2025-06-01T10:15:10Z', '2025-06-01T10:16:50Z')).toEqual([
      '2025-06-01T10:16:00.000Z',
      '2025-06-01T10:16:00.000Z',
    ]);
    expect(bounds('2025-06-01T10:15:00Z', '2025-06-01T10:15:00.001Z')).toEqual([
      '2025-06-01T10:15:00.000Z',
      '2025-06-01T10:15:00.000Z',
    ]);
  });

  it('aligns to the epoch, before it too', () => {
    expect(bounds('1969-12-31T23:58:30Z', '1970-01-01T00:01:30Z')).toEqual([
      '1969-12-31T23:59:00.000Z',
      '1970-01-01T00:01:00.000Z',
    ]);
  });

  it('always splits [from, to) into edge, whole minutes, edge, without gap or overlap', () => {
    let s = 7;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    for (let i = 0; i < 5000; i += 1) {
      const from = ms('2025-01-01T00:00:00Z') + Math.floor(rnd() * 86_400_000);
      const to = from + 1 + Math.floor(rnd() * (rnd() < 0.5 ? 120_000 : 86_400_000));
      const { wholeFromMs, wholeToMs } = rollupBounds(from, to);
      expect(from).toBeLessThanOrEqual(wholeFromMs);
      expect(wholeFromMs).toBeLessThanOrEqual(wholeToMs);
      expect(wholeToMs).toBeLessThanOrEqual(to);
      if (wholeToMs > wholeFromMs) {
        expect(wholeFromMs % ROLLUP_MS).toBe(0);
        expect(wholeToMs % ROLLUP_MS).toBe(0);
      }
      // Each edge is shorter than a minute: nothing a whole minute could answer is read raw.
      expect(wholeFromMs - from).toBeLessThan(ROLLUP_MS);
      expect(to - wholeToMs).toBeLessThan(ROLLUP_MS);
    }
  });
});

describe('series statements', () => {
  const args = {
    metric: 'heart_rate',
    from: new Date('2025-06-01T10:15:30Z'),
    to: new Date('2025-06-02T10:15:30Z'),
  };

  it('SECOND: the raw aggregation with five values', () => {
    const st = seriesStatement('plain', 'u-1', { ...args, bucket: 'SECOND' });
    expect(st.text).toBe(seriesSql('plain', 'raw'));
    expect(st.text).not.toMatch(/readings_minute/);
    expect(st.values).toEqual(['u-1', 'heart_rate', args.from, args.to, '1 seconds']);
  });

  it('MINUTE and wider: the rollup for the whole minutes, raw readings for the edges', () => {
    for (const bucket of ['MINUTE', 'FIVE_MINUTES', 'FIFTEEN_MINUTES', 'HOUR', 'DAY'] as const) {
      const st = seriesStatement('plain', 'u-1', { ...args, bucket });
      expect(st.text).toBe(seriesSql('plain', 'rollup'));
      expect(st.values).toEqual([
        'u-1',
        'heart_rate',
        args.from,
        args.to,
        `${BUCKETS[bucket] / 1000} seconds`,
        new Date('2025-06-01T10:16:00Z'),
        new Date('2025-06-02T10:15:00Z'),
      ]);
    }
    const sql = seriesSql('plain', 'rollup');
    expect(sql).toMatch(
      /FROM readings_minute\s+WHERE user_id = \$1 AND metric = \$2 AND minute >= \$6 AND minute < \$7/,
    );
    expect(sql).toMatch(/time >= \$3 AND time < \$6/);
    expect(sql).toMatch(/time >= \$7 AND time < \$4/);
    expect(sql).toMatch(/date_bin\(\$5::interval, minute, TIMESTAMPTZ '1970-01-01 00:00:00\+00'\)/);
    expect(sql).toMatch(/sum\(count\)::int AS count, sum\(sum\) \/ sum\(count\)::float8 AS avg/);
    expect(seriesSql('timescale', 'rollup')).toMatch(/time_bucket\(\$5::interval, minute\)/);
    expect(seriesSql('timescale', 'rollup')).not.toMatch(/date_bin/);
  });

  it('many users: the same choice, the ids as one array', () => {
    const st = seriesForUsersStatement('timescale', ['a', 'b'], { ...args, bucket: 'HOUR' });
    expect(st.text).toBe(seriesForUsersSql('timescale', 'rollup'));
    expect(st.text).toMatch(/user_id = ANY\(\$1::text\[\]\)/);
    expect(st.text).toMatch(/GROUP BY user_id, bucket/);
    expect(st.values[0]).toEqual(['a', 'b']);
    expect(st.values).toHaveLength(7);
    expect(seriesForUsersStatement('plain', ['a'], { ...args, bucket: 'SECOND' }).text).toBe(
      seriesForUsersSql('plain', 'raw'),
    );
  });
});
