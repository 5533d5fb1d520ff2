/**
 * What a series does to its buckets after the database answered: gap filling and downsampling.
 * Pure, so every rule is unit-tested.
 *
 * Gap filling (`fill`): with PREVIOUS or LINEAR every bucket of the range is present. A bucket
 * without readings has count 0, `filled: true`, and avg/min/max/sum carried from the bucket
 * before it (PREVIOUS) or interpolated between its neighbours by start instant (LINEAR; after the
 * last bucket with readings there is no right neighbour, so LINEAR carries too). Buckets before
 * the first one with readings take the last reading before `from` (its value as avg, min, max and
 * sum) when there is one, and are left out otherwise.
 *
 * Downsampling (`maxPoints`): k adjacent buckets merge into one point, k the smallest that brings
 * the count to at most maxPoints. A merged point starts where its first bucket starts; count and
 * sum add up, min and max are the least and greatest, avg is sum / count, all over the buckets
 * with readings, so the overall min and max of the range survive and no filled value is counted
 * as a reading. A group made only of filled buckets is filled and shows its first bucket's values.
 */

export type FillMode = 'NONE' | 'PREVIOUS' | 'LINEAR';

export interface ShapedPoint {
  time: Date;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
  filled: boolean;
}

/** How many adjacent buckets each point merges so that `buckets` become at most `maxPoints`. */
export function mergeFactor(buckets: number, maxPoints: number | undefined): number {
  if (maxPoints === undefined || buckets <= maxPoints) return 1;
  return Math.ceil(buckets / maxPoints);
}

const carried = (timeMs: number, from: ShapedPoint | { value: number }): ShapedPoint =>
  'value' in from
    ? { time: new Date(timeMs), count: 0, avg: from.value, min: from.value, max: from.value, sum: from.value, filled: true }
    : { time: new Date(timeMs), count: 0, avg: from.avg, min: from.min, max: from.max, sum: from.sum, filled: true };

function interpolated(timeMs: number, a: ShapedPoint, b: ShapedPoint): ShapedPoint {
  const ta = a.time.getTime();
  const f = (timeMs - ta) / (b.time.getTime() - ta);
  const at = (x: number, y: number) => x + (y - x) * f;
  return {
    time: new Date(timeMs),
    count: 0,
    avg: at(a.avg, b.avg),
    min: at(a.min, b.min),
    max: at(a.max, b.max),
    sum: at(a.sum, b.sum),
    filled: true,
  };
}

/**
 * `points`: the buckets with readings, in order, each starting at one of `starts` (every bucket
 * start of the range, in order). `prior`: the last reading before the range, if any.
 */
export function fillSeries(
  points: readonly ShapedPoint[],
  starts: readonly number[],
  mode: FillMode,
  prior: number | undefined,
): ShapedPoint[] {
  if (mode === 'NONE') return [...points];
  const out: ShapedPoint[] = [];
  let next = 0; // index into points of the next bucket with readings
  let last: ShapedPoint | undefined;
  for (const start of starts) {
    const real = points[next];
    if (real && real.time.getTime() === start) {
      out.push(real);
      last = real;
      next += 1;
      continue;
    }
    if (!last) {
      if (prior !== undefined) out.push(carried(start, { value: prior }));
      continue;
    }
    out.push(mode === 'LINEAR' && real ? interpolated(start, last, real) : carried(start, last));
  }
  return out;
}

/**
 * Merges every `k` adjacent buckets (k >= 1) into one point: the buckets `starts[g*k]` to
 * `starts[g*k + k - 1]` form group g, which starts at `starts[g*k]`. `points` may be sparse (no
 * fill) or complete; each starts at one of `starts`. See the module comment.
 */
export function mergeAdjacent(points: readonly ShapedPoint[], starts: readonly number[], k: number): ShapedPoint[] {
  if (k <= 1) return [...points];
  const indexOf = new Map<number, number>();
  starts.forEach((s, i) => indexOf.set(s, i));
  const groups = new Map<number, ShapedPoint[]>();
  for (const p of points) {
    const g = Math.floor((indexOf.get(p.time.getTime()) ?? 0) / k);
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(p);
  }
  const out: ShapedPoint[] = [];
  for (const [g, group] of groups) {
    const time = new Date(starts[g * k]!);
    const real = group.filter((p) => !p.filled);
    if (real.length === 0) {
      out.push({ ...group[0]!, time });
      continue;
    }
    let count = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const p of real) {
      count += p.count;
      sum += p.sum;
      if (p.min < min) min = p.min;
      if (p.max > max) max = p.max;
    }
    out.push({ time, count, avg: sum / count, min, max, sum, filled: false });
  }
  return out;
}
