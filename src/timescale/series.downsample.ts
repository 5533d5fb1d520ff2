/**
 * Downsampling of a series to at most `maxPoints` points by merging runs of adjacent buckets:
 * a merged point starts where its first bucket starts, its count and sum are the totals of its
 * buckets, avg is sum / count, and min and max are the least and greatest of its buckets, so the
 * range's overall min and max survive any downsampling (a line through the avgs alone would cut
 * the peaks off). Pure, so it is unit-tested without a database.
 *
 * Filled buckets (series.fill.ts) merged with buckets that have readings add nothing: the merged
 * point is made of the real ones. A run of filled buckets only stays filled: count 0, the mean of
 * their avgs and sums, the least min and greatest max.
 */
import type { SeriesPoint } from './series.point.js';

function merge(run: readonly SeriesPoint[]): SeriesPoint {
  const first = run[0]!;
  if (run.length === 1) return first;
  const real = run.filter((p) => !p.filled);
  const from = real.length > 0 ? real : run;
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let avgs = 0;
  for (const p of from) {
    count += p.count;
    sum += p.sum;
    avgs += p.avg;
    if (p.min < min) min = p.min;
    if (p.max > max) max = p.max;
  }
  if (real.length === 0) {
    return { time: first.time, count: 0, avg: avgs / from.length, min, max, sum: sum / from.length, filled: true };
  }
  return { time: first.time, count, avg: sum / count, min, max, sum, filled: false };
}

/**
 * `points` in time order; returns them unchanged when there are at most `maxPoints`, otherwise
 * exactly `maxPoints` merged points, each of `points.length / maxPoints` buckets give or take one.
 */
export function downsampleSeries(points: readonly SeriesPoint[], maxPoints: number): SeriesPoint[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 1)
    throw new RangeError(`maxPoints: expected a positive integer, got ${maxPoints}`);
  const n = points.length;
  if (n <= maxPoints) return [...points];
  const out: SeriesPoint[] = [];
  for (let i = 0; i < maxPoints; i += 1) {
    const start = Math.floor((i * n) / maxPoints);
    const end = Math.floor(((i + 1) * n) / maxPoints);
    out.push(merge(points.slice(start, end)));
  }
  return out;
}
