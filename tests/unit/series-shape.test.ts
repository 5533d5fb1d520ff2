/**
 * Local buckets across DST (Europe/Berlin, whose clock jumps 02:00 -> 03:00 on 2025-03-30 and
 * 03:00 -> 02:00 on 2025-10-26), gap filling and downsampling, checked against hand-worked values.
 */
import { describe, expect, it } from 'vitest';
import { bucketStartIn, bucketStarts, isTimeZone, nextBucketStart } from '../../src/domain/local-time.js';
import { fillSeries, mergeAdjacent, mergeFactor, type ShapedPoint } from '../../src/timescale/series.shape.js';
import { checkTimeZone } from '../../src/timescale/series.range.js';
import { ErrorCode } from '../../src/errors.js';

const ms = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const BERLIN = 'Europe/Berlin';

describe('local buckets', () => {
  it('a Berlin spring-forward day has 23 hours and starts at local midnight', () => {
    const start = bucketStartIn(ms('2025-03-30T12:00:00Z'), 'DAY', BERLIN);
    expect(new Date(start).toISOString()).toBe('2025-03-29T23:00:00.000Z'); // 00:00 CET
    const next = nextBucketStart(start, 'DAY', BERLIN);
    expect(new Date(next).toISOString()).toBe('2025-03-30T22:00:00.000Z'); // 00:00 CEST
    expect((next - start) / H).toBe(23);
  });

  it('a Berlin fall-back day has 25 hours, and its repeated hour is two HOUR buckets', () => {
    const start = bucketStartIn(ms('2025-10-26T12:00:00Z'), 'DAY', BERLIN);
    expect(new Date(start).toISOString()).toBe('2025-10-25T22:00:00.000Z');
    expect((nextBucketStart(start, 'DAY', BERLIN) - start) / H).toBe(25);
    const hours = bucketStarts(start, nextBucketStart(start, 'DAY', BERLIN), 'HOUR', BERLIN);
    expect(hours).toHaveLength(25);
    // 02:30 CEST (00:30Z) and 02:30 CET (01:30Z) are different hours.
    expect(bucketStartIn(ms('2025-10-26T00:30:00Z'), 'HOUR', BERLIN)).toBe(ms('2025-10-26T00:00:00Z'));
    expect(bucketStartIn(ms('2025-10-26T01:30:00Z'), 'HOUR', BERLIN)).toBe(ms('2025-10-26T01:00:00Z'));
  });

  it('local hours of a half-hour zone start at :30 UTC; sub-hour buckets stay epoch-aligned', () => {
    expect(new Date(bucketStartIn(ms('2025-01-01T10:10:00Z'), 'HOUR', 'Asia/Kolkata')).toISOString()).toBe(
      '2025-01-01T09:30:00.000Z',
    );
    expect(bucketStartIn(ms('2025-01-01T10:10:00Z'), 'FIFTEEN_MINUTES', 'Asia/Kolkata')).toBe(
      ms('2025-01-01T10:00:00Z'),
    );
  });

  it('a week of local days over the spring change: 7 buckets, one of 23 hours', () => {
    const starts = bucketStarts(ms('2025-03-27T23:00:00Z'), ms('2025-04-03T22:00:00Z'), 'DAY', BERLIN);
    expect(starts).toHaveLength(7);
    const lengths = starts.slice(1).map((s, i) => (s - starts[i]!) / H);
    expect(lengths).toEqual([24, 24, 23, 24, 24, 24]);
  });

  it('accepts IANA names only', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('+01:00')).toBe(false);
    expect(isTimeZone("Europe/Berlin'; --")).toBe(false);
    expect(() => checkTimeZone('Nowhere/Else')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_TIME_ZONE }));
    expect(checkTimeZone(null)).toBe('UTC');
  });
});

const point = (t: number, values: number[]): ShapedPoint => {
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    time: new Date(t),
    count: values.length,
    avg: sum / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    sum,
    filled: false,
  };
};

describe('gap filling', () => {
  const starts = [0, 10, 20, 30, 40, 50];
  const points = [point(10, [2, 4]), point(40, [8])]; // avg 3 at 10, 8 at 40

  it('NONE leaves the points as they are', () => {
    expect(fillSeries(points, starts, 'NONE', 1)).toEqual(points);
  });

  it('PREVIOUS carries; buckets before the first reading take the prior reading', () => {
    const out = fillSeries(points, starts, 'PREVIOUS', 5);
    expect(out.map((p) => [p.time.getTime(), p.count, p.avg, p.filled])).toEqual([
      [0, 0, 5, true],
      [10, 2, 3, false],
      [20, 0, 3, true],
      [30, 0, 3, true],
      [40, 1, 8, false],
      [50, 0, 8, true],
    ]);
    expect(out[2]).toMatchObject({ min: 2, max: 4, sum: 6 });
  });

  it('without a prior reading the leading buckets are left out', () => {
    expect(fillSeries(points, starts, 'PREVIOUS', undefined).map((p) => p.time.getTime())).toEqual([10, 20, 30, 40, 50]);
  });

  it('LINEAR interpolates by start time and carries after the last reading', () => {
    const out = fillSeries(points, starts, 'LINEAR', undefined);
    // avg 3 -> 8 over 30 ms: 3 + 5 * 10/30 and 3 + 5 * 20/30; min 2 -> 8, max 4 -> 8, sum 6 -> 8.
    expect(out[1]!.avg).toBeCloseTo(3 + 5 / 3, 12);
    expect(out[2]!.avg).toBeCloseTo(3 + 10 / 3, 12);
    expect(out[1]!.min).toBeCloseTo(2 + 2, 12);
    expect(out[2]!.max).toBeCloseTo(4 + 8 / 3, 12);
    expect(out[1]!.sum).toBeCloseTo(6 + 2 / 3, 12);
    expect(out[4]).toMatchObject({ avg: 8, count: 0, filled: true });
  });
});

describe('downsampling', () => {
  it('merge factor: the smallest k that fits', () => {
    expect(mergeFactor(100, undefined)).toBe(1);
    expect(mergeFactor(100, 100)).toBe(1);
    expect(mergeFactor(101, 100)).toBe(2);
    expect(mergeFactor(525_600, 1000)).toBe(526);
  });

  it('merges adjacent buckets keeping the extremes and the totals', () => {
    const starts = Array.from({ length: 10 }, (_, i) => i * 10);
    const values = [5, 1, 7, 3, 9, 2, 8, 4, 6, 0];
    const points = starts.map((t, i) => point(t, [values[i]!]));
    const out = mergeAdjacent(points, starts, 3);
    expect(out.map((p) => p.time.getTime())).toEqual([0, 30, 60, 90]);
    expect(out.map((p) => [p.count, p.min, p.max, p.sum])).toEqual([
      [3, 1, 7, 13],
      [3, 2, 9, 14],
      [3, 4, 8, 18],
      [1, 0, 0, 0],
    ]);
    expect(Math.min(...out.map((p) => p.min))).toBe(0);
    expect(Math.max(...out.map((p) => p.max))).toBe(9);
  });

  it('groups sparse points by bucket position, and filled values never count as readings', () => {
    const starts = [0, 10, 20, 30];
    const sparse = [point(0, [4]), point(30, [6])];
    expect(mergeAdjacent(sparse, starts, 2).map((p) => [p.time.getTime(), p.avg])).toEqual([
      [0, 4],
      [20, 6],
    ]);
    const filled = fillSeries(sparse, starts, 'PREVIOUS', undefined);
    expect(mergeAdjacent(filled, starts, 2).map((p) => [p.count, p.sum, p.filled])).toEqual([
      [1, 4, false],
      [1, 6, false],
    ]);
  });
});
