/**
 * Bucket grids in a time zone, computed the way Postgres computes them, so the gateway knows
 * which buckets a range has (point budget, gap filling, the pieces the SQL groups by) without
 * asking the database.
 *
 * Three grids:
 *   - epoch: fixed widths aligned to the Unix epoch (every bucket below an hour, and every bucket in UTC);
 *   - local: local hours or local days, as `date_trunc(unit, t, zone)`: a DST day lasts 23 or 25
 *     hours, and the repeated hour of an autumn night is two buckets;
 *   - wall:  a multiple of a local hour or day on the wall clock, as
 *     `date_bin(width, t AT TIME ZONE zone, TIMESTAMP '1970-01-01') AT TIME ZONE zone`
 *     (the coarser buckets asked for when downsampling).
 * Offsets come from Intl (the same IANA database as Postgres's, give or take a release). One known
 * difference from `date_trunc`: around Lord Howe Island's half-hour DST change Postgres labels one
 * local hour by an instant before the change; the labels here (and so the series') do not.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** An IANA name: letters first, then letters, digits, `_+-` in `/`-separated parts ("Etc/GMT+5"). */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;
export const MAX_ZONE_NAME_CHARS = 64;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    // Bounded by the zones Intl knows (a few hundred), since only valid names get here.
    formatters.set(zone, f);
  }
  return f;
}

/**
 * The canonical name of an IANA zone ("europe/berlin" -> "Europe/Berlin"), or undefined when Intl
 * does not know it. Offset strings ("+05:30") and POSIX rules ("EST5EDT,M3.2.0,M11.1.0") are
 * refused by the pattern: Postgres reads POSIX offsets with the opposite sign.
 */
export function canonicalTimeZone(name: string): string | undefined {
  // Every series request asks (UTC by default); an Intl.DateTimeFormat is tens of microseconds.
  const known = canonicalNames.get(name);
  if (known !== undefined) return known;
  if (name.length === 0 || name.length > MAX_ZONE_NAME_CHARS || !ZONE_NAME.test(name)) return undefined;
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined; // RangeError: Invalid time zone specified
  }
  // Only names Intl knows are kept (a few hundred, in any of their spellings' cases): bounded.
  if (canonicalNames.size >= MAX_CANONICAL_NAMES) canonicalNames.clear();
  canonicalNames.set(name, canonical);
  return canonical;
}

const canonicalNames = new Map<string, string>();
const MAX_CANONICAL_NAMES = 10_000;

/** Names that are UTC whatever the date: their local buckets are the epoch-aligned ones. */
export function isUtc(zone: string): boolean {
  return zone === 'UTC' || zone === 'Etc/UTC' || zone === 'Etc/GMT' || zone === 'GMT';
}

/** Offset of `zone` from UTC at the instant `ms`, in ms (whole seconds; positive east of Greenwich). */
export function zoneOffsetMs(zone: string, ms: number): number {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of formatter(zone).formatToParts(ms)) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value);
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
      default:
        break;
    }
  }
  const wall = Date.UTC(bc ? 1 - year : year, month - 1, day, hour, minute, second);
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The instant of a wall-clock time (ms as if the wall clock were UTC), as Postgres's
 * `timestamp AT TIME ZONE zone` resolves it: a repeated time is the later instant, a skipped time
 * is read with the offset before the change.
 */
export function wallToInstant(zone: string, wallMs: number): number {
  const before = zoneOffsetMs(zone, wallMs - 26 * HOUR_MS);
  const after = zoneOffsetMs(zone, wallMs + 26 * HOUR_MS);
  // No change within a day either side (no zone changes twice in two days): one reading.
  if (before === after) return wallMs - before;
  let best: number | undefined;
  for (const o of new Set([before, after, zoneOffsetMs(zone, wallMs)])) {
    const t = wallMs - o;
    if (zoneOffsetMs(zone, t) === o && (best === undefined || t > best)) best = t;
  }
  return best ?? wallMs - before;
}

export type BucketGrid =
  | { kind: 'epoch'; widthMs: number }
  | { kind: 'local'; unit: 'hour' | 'day'; zone: string }
  | { kind: 'wall'; widthMs: number; zone: string };

const mod = (a: number, m: number): number => ((a % m) + m) % m;
const floorTo = (ms: number, width: number): number => Math.floor(ms / width) * width;

/** Start of the local hour or day holding `ms`, as `date_trunc(unit, ms, zone)` gives it. */
function localStart(zone: string, unit: 'hour' | 'day', ms: number): number {
  const o = zoneOffsetMs(zone, ms);
  const truncated = floorTo(ms + o, unit === 'hour' ? HOUR_MS : DAY_MS);
  const start = truncated - o;
  const atStart = zoneOffsetMs(zone, start);
  // The offset changed between the truncated wall time and `ms` (a DST change that day): the wall
  // time is read with the offset it had then, or the offset before the change when it was skipped.
  return atStart === o ? start : truncated - atStart;
}

/** Start (label) of the bucket of `grid` holding the instant `ms`. */
export function gridStart(grid: BucketGrid, ms: number): number {
  switch (grid.kind) {
    case 'epoch':
      return floorTo(ms, grid.widthMs);
    case 'local':
      return localStart(grid.zone, grid.unit, ms);
    case 'wall':
      return wallToInstant(grid.zone, floorTo(ms + zoneOffsetMs(grid.zone, ms), grid.widthMs));
    default:
      return assertNever(grid);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected bucket grid ${JSON.stringify(value)}`);
}

/** Start of the bucket after the one starting at `start`. */
function nextStart(grid: BucketGrid, start: number): number {
  if (grid.kind === 'epoch') return start + grid.widthMs;
  if (grid.kind === 'wall') {
    // Wall buckets are consecutive on the wall clock; a skipped one resolves to its successor's start.
    let wall = floorTo(start + zoneOffsetMs(grid.zone, start), grid.widthMs);
    for (;;) {
      wall += grid.widthMs;
      const t = wallToInstant(grid.zone, wall);
      if (t > start) return t;
    }
  }
  const nominal = grid.unit === 'hour' ? HOUR_MS : DAY_MS;
  // Most buckets: no offset change inside, so the next one starts a nominal width later.
  if (zoneOffsetMs(grid.zone, start + nominal) === zoneOffsetMs(grid.zone, start)) {
    const probe = gridStart(grid, start + nominal);
    if (probe > start) return probe;
  }
  // A DST change: step forward until the bucket changes (a 25-hour day, a 30-minute DST shift).
  const step = grid.unit === 'hour' ? 15 * 60_000 : HOUR_MS;
  for (let t = start + step; ; t += step) {
    const s = gridStart(grid, t);
    if (s > start) return s;
  }
}

/**
 * Starts of the buckets that hold some instant of `[fromMs, toMs)`, in order; the first may lie
 * before `fromMs`. Stops after `limit` starts.
 */
export function gridStarts(grid: BucketGrid, fromMs: number, toMs: number, limit = Number.MAX_SAFE_INTEGER): number[] {
  const out: number[] = [];
  if (fromMs >= toMs) return out;
  let s = gridStart(grid, fromMs);
  if (grid.kind === 'local') {
    // A day whose two ends have the same offset has no DST change (no zone changes twice a day):
    // its buckets are nominal steps, for one offset lookup per day instead of per bucket.
    const nominal = grid.unit === 'hour' ? HOUR_MS : DAY_MS;
    let o = zoneOffsetMs(grid.zone, s);
    while (s < toMs && out.length < limit) {
      // Also only from a bucket that starts on the wall clock's hour or midnight (a day that began
      // at 01:00 because midnight was skipped is followed by one that starts at midnight).
      const aligned = mod(s + o, nominal) === 0;
      const oNext = zoneOffsetMs(grid.zone, s + DAY_MS);
      if (aligned && oNext === o) {
        for (let t = s; t < s + DAY_MS && t < toMs && out.length < limit; t += nominal) out.push(t);
        s += DAY_MS;
      } else {
        out.push(s);
        s = nextStart(grid, s);
        o = zoneOffsetMs(grid.zone, s);
      }
    }
    return out;
  }
  for (; s < toMs && out.length < limit; s = nextStart(grid, s)) {
    // A wall bucket whose start is repeated lies after some of its instants; it is still one bucket.
    if (out.length === 0 || s > out[out.length - 1]!) out.push(s);
  }
  return out;
}

/**
 * How many buckets of `grid` hold some instant of `[fromMs, toMs)`: exact, except a local day
 * skipped by a zone (Samoa, 2011-12-30) is still counted, so never an undercount. Constant time
 * unless a zone's offset moves by a fraction of an hour within the range (then counted up to `limit + 1`).
 */
export function gridCount(grid: BucketGrid, fromMs: number, toMs: number, limit = Number.MAX_SAFE_INTEGER): number {
  if (fromMs >= toMs) return 0;
  const last = toMs - 1;
  switch (grid.kind) {
    case 'epoch':
      return Math.floor(last / grid.widthMs) - Math.floor(fromMs / grid.widthMs) + 1;
    case 'wall': {
      const wallIndex = (ms: number) => Math.floor((ms + zoneOffsetMs(grid.zone, ms)) / grid.widthMs);
      return wallIndex(last) - wallIndex(fromMs) + 1;
    }
    case 'local': {
      if (grid.unit === 'day') {
        const day = (ms: number) => Math.floor((ms + zoneOffsetMs(grid.zone, ms)) / DAY_MS);
        return day(last) - day(fromMs) + 1;
      }
      // Local hours start where the wall clock shows :00; while the offset's part below an hour
      // stays the same (whole-hour DST changes), those instants are an epoch grid shifted by it.
      const shift = mod(zoneOffsetMs(grid.zone, fromMs), HOUR_MS);
      if (mod(zoneOffsetMs(grid.zone, last), HOUR_MS) === shift) {
        return Math.floor((last + shift) / HOUR_MS) - Math.floor((fromMs + shift) / HOUR_MS) + 1;
      }
      return gridStarts(grid, fromMs, toMs, limit + 1).length;
    }
    default:
      return assertNever(grid);
  }
}

/** A stretch of a local grid: up to `untilMs`, buckets on the epoch grid moved to `originMs`, or one fixed label. */
export type GridPiece = { untilMs: number; originMs: number } | { untilMs: number; labelMs: number };

/**
 * The instants in `(fromMs, toMs)` where the zone's offset changes, found by comparing offsets a
 * day apart (no zone changes its offset twice within a day) and bisecting to the second.
 */
export function offsetChanges(zone: string, fromMs: number, toMs: number): { atMs: number; offsetMs: number }[] {
  const out: { atMs: number; offsetMs: number }[] = [];
  let t = fromMs;
  let o = zoneOffsetMs(zone, t);
  while (t < toMs - 1) {
    const next = Math.min(t + DAY_MS, toMs - 1);
    const on = zoneOffsetMs(zone, next);
    if (on === o) {
      t = next;
      continue;
    }
    let lo = t;
    let hi = next;
    while (hi - lo > 1000) {
      const mid = Math.floor((lo + hi) / 2000) * 1000;
      if (mid <= lo) break;
      if (zoneOffsetMs(zone, mid) === o) lo = mid;
      else hi = mid;
    }
    o = zoneOffsetMs(zone, hi);
    out.push({ atMs: hi, offsetMs: o });
    t = hi;
  }
  return out;
}

/**
 * A local grid over `[fromMs, toMs)` as pieces the database can bucket without converting every
 * row to local time: between two offset changes local hours and days are an epoch grid moved by
 * the offset (`date_bin(width, t, origin)`), and the bucket holding the range's start or an
 * offset change, which may have started under another offset (a 23- or 25-hour day), gets its
 * label from `gridStart`. So a local day costs what a UTC day costs: one comparison or two per row.
 */
export function localGridPieces(
  grid: Extract<BucketGrid, { kind: 'local' }>,
  fromMs: number,
  toMs: number,
): GridPiece[] {
  const starts = [fromMs, ...offsetChanges(grid.zone, fromMs, toMs).map((c) => c.atMs)];
  const pieces: GridPiece[] = [];
  const width = grid.unit === 'hour' ? HOUR_MS : DAY_MS;
  // A change by whole hours leaves local hours on the same moved grid: one piece goes on.
  const bin = (untilMs: number, originMs: number) => {
    const last = pieces[pieces.length - 1];
    if (last && 'originMs' in last && mod(originMs - last.originMs, width) === 0) last.untilMs = untilMs;
    else pieces.push({ untilMs, originMs });
  };
  starts.forEach((start, k) => {
    const until = k + 1 < starts.length ? starts[k + 1]! : Number.POSITIVE_INFINITY;
    const label = gridStart(grid, start);
    const origin = -zoneOffsetMs(grid.zone, start);
    // Most often the moved epoch grid already gives that bucket its label: no fixed piece then.
    if (floorTo(start - origin, width) + origin === label) {
      bin(until, origin);
      return;
    }
    const next = nextStart(grid, label);
    pieces.push({ untilMs: Math.min(next, until), labelMs: label });
    if (next < until) bin(until, origin);
  });
  return pieces;
}
