/**
 * Argument rules shared by every read of the readings table: who (a user id of the wire format),
 * what (a metric of the catalogue), when (a bounded, non-empty range) and how fine (a bounded
 * number of buckets). Pure, so the rules are unit-tested without a database.
 */
import { AppError, ErrorCode, quote } from '../errors.js';
import { canonicalTimeZone, gridCount, isUtc, type BucketGrid } from '../domain/local-time.js';
import { BUCKETS, isWireMetric, type BucketName, type WireMetric } from '../domain/metrics.js';
import { USER_ID_PATTERN } from '../domain/reading.js';

const DAY_MS = 86_400_000;

export interface RangeLimits {
  /** Largest number of buckets one series may span (config.postgres.seriesMaxPoints). */
  maxPoints: number;
  /** Longest range in days (config.postgres.rangeMaxDays). */
  maxDays: number;
}

export function checkUserId(id: unknown): string {
  if (typeof id !== 'string' || !USER_ID_PATTERN.test(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 70)) : typeof id;
    throw new AppError(
      ErrorCode.INVALID_USER_ID,
      `userId: expected 1 to 64 characters of [A-Za-z0-9_.:@-], got ${shown}`,
    );
  }
  return id;
}

/** The GraphQL enum already narrows metrics; this guards the services' other callers (benchmarks, scripts). */
export function checkMetric(metric: unknown): WireMetric {
  if (!isWireMetric(metric)) {
    throw new AppError(
      ErrorCode.INVALID_METRIC,
      `metric: expected one of the catalogue in lower snake case, got ${JSON.stringify(String(metric).slice(0, 40))}`,
    );
  }
  return metric;
}

export function checkBucket(bucket: unknown): BucketName {
  if (typeof bucket !== 'string' || !Object.prototype.hasOwnProperty.call(BUCKETS, bucket)) {
    throw new AppError(ErrorCode.BAD_USER_INPUT, `bucket: expected one of ${Object.keys(BUCKETS).join(', ')}`);
  }
  return bucket as BucketName;
}

/** `from` inclusive, `to` exclusive; refuses empty, inverted and over-long ranges. */
export function checkRange(from: Date, to: Date, maxDays: number): { fromMs: number; toMs: number } {
  const fromMs = from.getTime();
  const toMs = to.getTime();
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
    throw new AppError(ErrorCode.INVALID_RANGE, 'from and to: expected valid timestamps');
  }
  if (fromMs >= toMs) {
    throw new AppError(
      ErrorCode.INVALID_RANGE,
      `expected from before to, got from ${from.toISOString()} and to ${to.toISOString()}`,
      {
        details: { from: from.toISOString(), to: to.toISOString() },
      },
    );
  }
  if (toMs - fromMs > maxDays * DAY_MS) {
    throw new AppError(
      ErrorCode.INVALID_RANGE,
      `expected a range of at most ${maxDays} days, got ${((toMs - fromMs) / DAY_MS).toFixed(1)} days`,
      {
        details: { maxDays },
      },
    );
  }
  return { fromMs, toMs };
}

/** A range check plus the point budget: refused, never truncated, when the buckets would exceed it. */
export function checkSeriesRange(
  from: Date,
  to: Date,
  bucket: BucketName,
  limits: RangeLimits,
): { fromMs: number; toMs: number } {
  const range = checkRange(from, to, limits.maxDays);
  const points = Math.ceil((range.toMs - range.fromMs) / BUCKETS[bucket]);
  if (points > limits.maxPoints) {
    throw new AppError(
      ErrorCode.TOO_MANY_POINTS,
      `this range at ${bucket} buckets spans ${points} points, over the limit of ${limits.maxPoints}: use a wider bucket or a shorter range`,
      { details: { points, maxPoints: limits.maxPoints } },
    );
  }
  return range;
}

/**
 * A time zone name Intl knows (an IANA name, case-insensitive), as its canonical spelling
 * ("europe/berlin" -> "Europe/Berlin"). Whether Postgres knows it too is the service's check.
 */
export function checkTimeZone(name: unknown): string {
  const zone = typeof name === 'string' ? canonicalTimeZone(name) : undefined;
  if (zone === undefined) {
    throw new AppError(
      ErrorCode.INVALID_TIME_ZONE,
      `timeZone: expected an IANA time zone name such as "Europe/Berlin" or "UTC", got ${quote(name, 40)}`,
    );
  }
  return zone;
}

/** maxPoints: a whole number from 1 to the point budget. */
export function checkMaxPoints(maxPoints: unknown, limit: number): number {
  if (typeof maxPoints !== 'number' || !Number.isInteger(maxPoints) || maxPoints < 1 || maxPoints > limit) {
    throw new AppError(
      ErrorCode.BAD_USER_INPUT,
      `maxPoints: expected a whole number from 1 to ${limit}, got ${quote(maxPoints, 20)}`,
      {
        details: { maxPoints: limit },
      },
    );
  }
  return maxPoints;
}

export interface SeriesPlanArgs {
  from: Date;
  to: Date;
  bucket: BucketName;
  /** IANA name; UTC when absent. */
  timeZone?: string | null;
  maxPoints?: number | null;
}

/** How a series is asked of the database, decided before it is. */
export interface SeriesPlan {
  fromMs: number;
  toMs: number;
  /** Canonical zone name (checkTimeZone). */
  zone: string;
  /** Buckets the database groups by: the asked bucket, or `multiple` of them when downsampling. */
  grid: BucketGrid;
  /** Width of a database bucket in ms (the asked width times `multiple`; nominal for local ones). */
  widthMs: number;
  multiple: number;
  /** Buckets the asked width gives over the range (before downsampling). */
  points: number;
  /** At most this many points are answered (downsampling); undefined: every bucket. */
  maxPoints: number | undefined;
}

/**
 * Range, zone and point budget in one place. HOUR and DAY are local hours and days in a zone other
 * than UTC; narrower buckets stay on the epoch grid in every zone (today's offsets are whole
 * quarter hours, so those are local minutes and quarter hours anyway).
 *
 * Without maxPoints, more buckets than the budget are refused (TOO_MANY_POINTS). With it, the
 * database is asked for the smallest whole multiple of the bucket that gives at most
 * 2 × maxPoints buckets, and those are merged down to maxPoints (series.downsample.ts): a year
 * of MINUTE costs the database a few thousand groups, not half a million rows to the gateway.
 * Below a minute the multiple is rounded up to whole minutes, so the per-minute rollup serves it.
 */
export function planSeries(args: SeriesPlanArgs, limits: RangeLimits): SeriesPlan {
  const range = checkRange(args.from, args.to, limits.maxDays);
  const zone = checkTimeZone(args.timeZone ?? 'UTC');
  const maxPoints =
    args.maxPoints === undefined || args.maxPoints === null
      ? undefined
      : checkMaxPoints(args.maxPoints, limits.maxPoints);
  const width = BUCKETS[args.bucket];
  const local = width >= BUCKETS.HOUR && !isUtc(zone);
  const unit = args.bucket === 'DAY' ? 'day' : 'hour';
  const base: BucketGrid = local ? { kind: 'local', unit, zone } : { kind: 'epoch', widthMs: width };
  const points = gridCount(base, range.fromMs, range.toMs, Math.max(limits.maxPoints, 2 * (maxPoints ?? 0)));
  if (maxPoints === undefined && points > limits.maxPoints) {
    throw new AppError(
      ErrorCode.TOO_MANY_POINTS,
      `this range at ${args.bucket} buckets spans ${points} points, over the limit of ${limits.maxPoints}: use a wider bucket, a shorter range or maxPoints`,
      { details: { points, maxPoints: limits.maxPoints } },
    );
  }
  let multiple = maxPoints === undefined || points <= 2 * maxPoints ? 1 : Math.ceil(points / (2 * maxPoints));
  if (multiple > 1 && width < BUCKETS.MINUTE && multiple * width > BUCKETS.MINUTE) {
    multiple = Math.ceil((multiple * width) / BUCKETS.MINUTE) * (BUCKETS.MINUTE / width);
  }
  const widthMs = width * multiple;
  let grid: BucketGrid = base;
  if (multiple > 1) grid = local ? { kind: 'wall', widthMs, zone } : { kind: 'epoch', widthMs };
  return { fromMs: range.fromMs, toMs: range.toMs, zone, grid, widthMs, multiple, points, maxPoints };
}
