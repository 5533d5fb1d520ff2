/** Gap filling (series.fill.ts): PREVIOUS, LINEAR, the reading before the range, and what stays out. */
import { describe, expect, it } from 'vitest';
import { fillSeries } from '../../src/timescale/series.fill.js';
import type { SeriesPoint } from '../../src/timescale/series.point.js';

const H = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00Z');
const grid = Array.from({ length: 6 }, (_, i) => T0 + i * H);
const real = (i: number, v: number, count = 2): SeriesPoint => ({
  time: new Date(T0 + i * H),
  count,
  avg: v,
  min: v - 1,
  max: v + 1,
  sum: v * count,
  filled: false,
});
const summary = (ps: SeriesPoint[]) => ps.map((p) => [(p.time.getTime() - T0) / H, p.count, p.avg, p.filled]);

describe('fillSeries', () => {
  const points = [real(1, 10), real(4, 40)];

  it('NONE leaves the series as it is', () => {
    expect(fillSeries(points, grid, 'NONE')).toEqual(points);
  });

  it('PREVIOUS carries the bucket before; buckets before the first reading are left out without a prior reading', () => {
    const out = fillSeries(points, grid, 'PREVIOUS');
    expect(summary(out)).toEqual([
      [1, 2, 10, false],
      [2, 0, 10, true],
      [3, 0, 10, true],
      [4, 2, 40, false],
      [5, 0, 40, true],
    ]);
    expect(out[1]).toMatchObject({ min: 9, max: 11, sum: 20 });
  });

  it('LINEAR interpolates in time between neighbours and carries the last values forward', () => {
    const out = fillSeries(points, grid, 'LINEAR');
    expect(summary(out)).toEqual([
      [1, 2, 10, false],
      [2, 0, 20, true],
      [3, 0, 30, true],
      [4, 2, 40, false],
      [5, 0, 40, true],
    ]);
    expect(out[1]).toMatchObject({ min: 19, max: 21, sum: 40 });
  });

  it('uses the last reading before the range for the leading buckets', () => {
    const prior = { time: new Date(T0 - 2 * H), value: 4 };
    expect(summary(fillSeries(points, grid, 'PREVIOUS', prior)).slice(0, 2)).toEqual([
      [0, 0, 4, true],
      [1, 2, 10, false],
    ]);
    // LINEAR: from 4 at T0-2h to 10 at T0+1h, so 8 at T0.
    const first = fillSeries(points, grid, 'LINEAR', prior)[0]!;
    expect(first).toMatchObject({ count: 0, filled: true, avg: 8, min: 8 - 2 / 3, sum: 4 + (20 - 4) * (2 / 3) });
    expect(first.max).toBeCloseTo(8 + 2 / 3, 12);
  });

  it('fills every bucket from the prior reading when the range has none, and nothing without one', () => {
    const prior = { time: new Date(T0 - 1), value: 7 };
    const out = fillSeries([], grid, 'LINEAR', prior);
    expect(out).toHaveLength(6);
    expect(out.every((p) => p.filled && p.count === 0 && p.avg === 7 && p.sum === 7)).toBe(true);
    expect(fillSeries([], grid, 'PREVIOUS')).toEqual([]);
  });

  it('keeps a database bucket that is not on the grid', () => {
    const odd: SeriesPoint = { ...real(2, 20), time: new Date(T0 + 2.5 * H) };
    const out = fillSeries([real(1, 10), odd], grid, 'PREVIOUS');
    expect(out.map((p) => (p.time.getTime() - T0) / H)).toEqual([1, 2, 2.5, 3, 4, 5]);
    expect(out[3]!.avg).toBe(20);
  });
});
