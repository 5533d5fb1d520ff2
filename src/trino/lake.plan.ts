/**
 * Which part of an aggregate's range the lake answers and which part the hot store answers.
 *
 * The lake holds every reading of `[lakeFrom, tieredUntil)` except the dirty hours (tiered, then
 * changed in the hot store by a late reading or an erasure; the tierer rewrites them). Rollups can
 * only stand for whole units (a minute, or an hour for per-user hour rollups), so the lake part is
 * further cut to whole `alignMs` units inside the request. Everything else is read from the hot
 * store, which holds every reading: the two parts are disjoint and together cover the request.
 */

export interface LakeView {
  /** Start of the tiered range (a whole hour), or null while nothing is tiered. */
  lakeFrom: Date | null;
  /** End of the tiered range (a whole hour, exclusive). */
  tieredUntil: Date | null;
  /** Starts (epoch ms) of the dirty hours inside the request's range, ascending. */
  dirtyHours: readonly number[];
}

/** Half-open [start, end) in epoch ms. */
export type Interval = readonly [start: number, end: number];

export interface RangeSplit {
  /** Intervals answered from the lake; each boundary a multiple of the alignment. */
  lake: Interval[];
  /** The rest of the request, answered from the hot store. */
  hot: Interval[];
}

export const HOUR_MS = 3_600_000;

const floorTo = (t: number, unit: number): number => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number): number => Math.ceil(t / unit) * unit;

/** Joins touching or overlapping intervals (input sorted by start). */
function coalesce(intervals: Interval[]): Interval[] {
  const out: [number, number][] = [];
  for (const [s, e] of intervals) {
    if (e <= s) continue;
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/**
 * `alignMs` must divide an hour (1 s, a minute, 5 or 15 minutes, an hour), so that dirty hours,
 * which are whole hours, keep the lake part aligned.
 */
export function splitRange(from: Date, to: Date, alignMs: number, view: LakeView): RangeSplit {
  const f = from.getTime();
  const t = to.getTime();
  if (view.lakeFrom === null || view.tieredUntil === null) return { lake: [], hot: [[f, t]] };
  const lo = Math.max(ceilTo(f, alignMs), view.lakeFrom.getTime());
  const hi = Math.min(floorTo(t, alignMs), view.tieredUntil.getTime());
  if (lo >= hi) return { lake: [], hot: [[f, t]] };

  const lake: Interval[] = [];
  const hot: Interval[] = [[f, lo]];
  let cursor = lo;
  for (const hour of view.dirtyHours) {
    const s = Math.max(hour, lo);
    const e = Math.min(hour + HOUR_MS, hi);
    if (e <= s) continue;
    if (s > cursor) lake.push([cursor, s]);
    hot.push([s, e]);
    cursor = Math.max(cursor, e);
  }
  if (cursor < hi) lake.push([cursor, hi]);
  hot.push([hi, t]);
  return { lake: coalesce(lake), hot: coalesce(hot) };
}
