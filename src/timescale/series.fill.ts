/**
 * Gap filling of a series: every bucket of the grid is present, a bucket without readings carries
 * the values of the bucket before it (PREVIOUS) or the straight line in time between the buckets
 * around it (LINEAR). Pure, so it is unit-tested without a database.
 *
 * Rules:
 *   - a filled bucket has count 0 and filled true; avg, min, max and sum are filled each on its own;
 *   - buckets before the first bucket with readings take the last reading before the range
 *     (`prior`, as a bucket of one reading at its own time); without one they are left out;
 *   - LINEAR has nothing to interpolate towards after the last bucket with readings, so it carries
 *     the last values forward there, as PREVIOUS does;
 *   - a bucket from the database that is not on the grid is kept as it is (see local-time.ts).
 */
import type { PriorReading, SeriesPoint } from './series.point.js';

export type FillMode = 'NONE' | 'PREVIOUS' | 'LINEAR';

interface Anchor {
  /** Where the values sit in time: a bucket's start, or the prior reading's own time. */
  at: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
}

const anchorOf = (p: SeriesPoint): Anchor => ({ at: p.time.getTime(), avg: p.avg, min: p.min, max: p.max, sum: p.sum });

const priorAnchor = (r: PriorReading): Anchor => ({
  at: r.time.getTime(),
  avg: r.value,
  min: r.value,
  max: r.value,
  sum: r.value,
});

function filledPoint(at: number, values: Omit<Anchor, 'at'>): SeriesPoint {
  return {
    time: new Date(at),
    count: 0,
    avg: values.avg,
    min: values.min,
    max: values.max,
    sum: values.sum,
    filled: true,
  };
}

function interpolate(left: Anchor, right: Anchor, at: number): Omit<Anchor, 'at'> {
  const f = right.at === left.at ? 0 : (at - left.at) / (right.at - left.at);
  const line = (a: number, b: number) => a + (b - a) * f;
  return {
    avg: line(left.avg, right.avg),
    min: line(left.min, right.min),
    max: line(left.max, right.max),
    sum: line(left.sum, right.sum),
  };
}

/**
 * `points`: the buckets with readings, in time order. `grid`: every bucket start of the range,
 * in order (local-time.ts gridStarts). Returns the filled series in time order.
 */
export function fillSeries(
  points: readonly SeriesPoint[],
  grid: readonly number[],
  mode: FillMode,
  prior?: PriorReading | null,
): SeriesPoint[] {
  if (mode === 'NONE') return [...points];
  const real = new Map(points.map((p) => [p.time.getTime(), p]));
  const starts = [...new Set([...grid, ...real.keys()])].sort((a, b) => a - b);
  const out: SeriesPoint[] = [];
  let left: Anchor | undefined = prior ? priorAnchor(prior) : undefined;
  // Index into `points` of the next bucket with readings, for LINEAR's right-hand neighbour.
  let nextReal = 0;
  for (const at of starts) {
    const point = real.get(at);
    if (point) {
      out.push(point);
      left = anchorOf(point);
      nextReal += 1;
      continue;
    }
    if (!left) continue;
    while (nextReal < points.length && points[nextReal]!.time.getTime() < at) nextReal += 1;
    const right = nextReal < points.length ? anchorOf(points[nextReal]!) : undefined;
    out.push(filledPoint(at, mode === 'LINEAR' && right ? interpolate(left, right, at) : left));
  }
  return out;
}
