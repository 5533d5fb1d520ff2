/** Downsampling (series.downsample.ts): at most maxPoints, extremes kept, counts and sums add up. */
import { describe, expect, it } from 'vitest';
import { downsampleSeries } from '../../src/timescale/series.downsample.js';
import type { SeriesPoint } from '../../src/timescale/series.point.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function series(n: number, seed = 1): SeriesPoint[] {
  const rnd = lcg(seed);
  return Array.from({ length: n }, (_, i) => {
    const count = 1 + Math.floor(rnd() * 5);
    const min = 40 + rnd() * 100;
    const max = min + rnd() * 50;
    const avg = (min + max) / 2;
    return { time: new Date(i * 60_000), count, avg, min, max, sum: avg * count, filled: false };
  });
}

describe('downsampleSeries', () => {
  it('returns a series that fits unchanged', () => {
    const s = series(10);
    expect(downsampleSeries(s, 10)).toEqual(s);
    expect(downsampleSeries(s, 100)).toEqual(s);
  });

  it('gives exactly maxPoints points keeping the overall min and max, counts and sums', () => {
    for (const [n, m] of [
      [1000, 10],
      [1001, 500],
      [7, 3],
      [20_000, 10_000],
      [5, 1],
    ] as const) {
      const s = series(n, n + m);
      const out = downsampleSeries(s, m);
      expect(out).toHaveLength(m);
      expect(Math.min(...out.map((p) => p.min))).toBe(Math.min(...s.map((p) => p.min)));
      expect(Math.max(...out.map((p) => p.max))).toBe(Math.max(...s.map((p) => p.max)));
      expect(out.reduce((a, p) => a + p.count, 0)).toBe(s.reduce((a, p) => a + p.count, 0));
      expect(out.reduce((a, p) => a + p.sum, 0)).toBeCloseTo(
        s.reduce((a, p) => a + p.sum, 0),
        6,
      );
      for (const p of out) expect(p.avg).toBeCloseTo(p.sum / p.count, 9);
      // In order, each labelled by the start of its first bucket.
      expect(out[0]!.time).toEqual(s[0]!.time);
      for (let i = 1; i < out.length; i += 1) expect(out[i]!.time > out[i - 1]!.time).toBe(true);
    }
  });

  it('merges filled buckets into real ones without counting them, and keeps runs of filled ones filled', () => {
    const real = (t: number, v: number): SeriesPoint => ({
      time: new Date(t),
      count: 1,
      avg: v,
      min: v,
      max: v,
      sum: v,
      filled: false,
    });
    const filled = (t: number, v: number): SeriesPoint => ({ ...real(t, v), count: 0, filled: true });
    const out = downsampleSeries([real(0, 10), filled(1, 99), filled(2, 20), filled(3, 30)], 2);
    expect(out[0]).toMatchObject({ time: new Date(0), count: 1, avg: 10, min: 10, max: 10, sum: 10, filled: false });
    expect(out[1]).toMatchObject({ time: new Date(2), count: 0, avg: 25, min: 20, max: 30, sum: 25, filled: true });
  });

  it('refuses a maxPoints that is not a positive whole number', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => downsampleSeries(series(3), bad)).toThrow(RangeError);
  });
});
