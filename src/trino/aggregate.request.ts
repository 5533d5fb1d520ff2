/**
 * Validation of the arguments of the cross-user aggregates. Everything that reaches a statement
 * passes through here first and comes out typed: a catalogue metric, a bucket name, two instants
 * in order, a whole-number limit. Errors carry the API's input codes.
 */
import { BUCKETS, isWireMetric, METRICS, type BucketName, type WireMetric } from '../domain/metrics.js';
import { TrinoError, type TrinoErrorCode } from './trino.errors.js';
import { ErrorCode } from '../errors.js';
import { EARLIEST_INSTANT_MS, LATEST_INSTANT_MS } from '../domain/reading.js';
import { canonicalTimeZone, gridCount, isUtc, type BucketGrid } from '../domain/local-time.js';

export interface AggregateLimits {
  /** Longest allowed `to - from`, in days (config: RANGE_MAX_DAYS). */
  maxRangeDays: number;
  /** Most buckets one cohortStats answer may have (config: SERIES_MAX_POINTS). */
  maxBuckets: number;
  /** Largest leaderboard `limit`. */
  maxLeaderboardLimit: number;
}

export interface CohortStatsRequest {
  metric: WireMetric;
  from: Date;
  to: Date;
  bucket: BucketName;
  /** Canonical IANA name; HOUR and DAY are local hours and days unless it is UTC. */
  timeZone: string;
}

export interface LeaderboardRequest {
  metric: WireMetric;
  from: Date;
  to: Date;
  limit: number;
}

export const DEFAULT_LEADERBOARD_LIMIT = 10;

const DAY_MS = 86_400_000;

function bad(code: TrinoErrorCode, message: string): TrinoError {
  return new TrinoError(code, message);
}

export function validateMetric(metric: unknown): WireMetric {
  if (!isWireMetric(metric)) {
    const shown = typeof metric === 'string' ? JSON.stringify(metric.slice(0, 40)) : typeof metric;
    throw bad(
      ErrorCode.INVALID_METRIC,
      `expected a metric of the catalogue (${Object.keys(METRICS).join(', ')}), got ${shown}`,
    );
  }
  return metric;
}

export function validateBucket(bucket: unknown): BucketName {
  if (typeof bucket !== 'string' || !Object.prototype.hasOwnProperty.call(BUCKETS, bucket)) {
    throw bad(
      ErrorCode.BAD_USER_INPUT,
      `expected a bucket of ${Object.keys(BUCKETS).join(', ')}, got ${JSON.stringify(bucket)}`,
    );
  }
  return bucket as BucketName;
}

/** `from` inclusive, `to` exclusive; both valid, in order, and at most `maxRangeDays` apart. */
export function validateRange(
  from: unknown,
  to: unknown,
  limits: Pick<AggregateLimits, 'maxRangeDays'>,
): { from: Date; to: Date } {
  const valid = (d: unknown): d is Date => d instanceof Date && Number.isFinite(d.getTime());
  if (!valid(from) || !valid(to)) throw bad(ErrorCode.INVALID_RANGE, 'expected `from` and `to` to be valid date-times');
  // Copies: a caller mutating its Date afterwards must not change a cached request's key.
  const f = new Date(from.getTime());
  const t = new Date(to.getTime());
  if (f.getTime() >= t.getTime()) {
    throw bad(ErrorCode.INVALID_RANGE, `expected \`from\` before \`to\`, got ${f.toISOString()} .. ${t.toISOString()}`);
  }
  if (f.getTime() < EARLIEST_INSTANT_MS)
    throw bad(ErrorCode.INVALID_RANGE, 'expected `from` at or after 1970-01-01T00:00:00Z');
  if (t.getTime() > LATEST_INSTANT_MS)
    throw bad(ErrorCode.INVALID_RANGE, 'expected `to` at or before 9999-01-01T00:00:00Z');
  if (t.getTime() - f.getTime() > limits.maxRangeDays * DAY_MS) {
    throw bad(ErrorCode.INVALID_RANGE, `expected a range of at most ${limits.maxRangeDays} days`);
  }
  return { from: f, to: t };
}

/** The same rule as `series` (src/timescale/series.range.ts checkTimeZone): a name Intl knows, canonical. */
export function validateTimeZone(name: unknown): string {
  const zone = typeof name === 'string' ? canonicalTimeZone(name) : undefined;
  if (zone === undefined) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 40)) : typeof name;
    throw bad(
      ErrorCode.INVALID_TIME_ZONE,
      `timeZone: expected an IANA time zone name such as "Europe/Berlin" or "UTC", got ${shown}`,
    );
  }
  return zone;
}

/** The buckets of a cohort: local hours or days in a zone other than UTC, the epoch grid otherwise. */
export function cohortGrid(bucket: BucketName, timeZone: string): BucketGrid {
  if (BUCKETS[bucket] >= BUCKETS.HOUR && !isUtc(timeZone)) {
    return { kind: 'local', unit: bucket === 'DAY' ? 'day' : 'hour', zone: timeZone };
  }
  return { kind: 'epoch', widthMs: BUCKETS[bucket] };
}

/** Index of the epoch-aligned bucket holding `timeMs` (bucket start = index * width). */
export function bucketIndex(timeMs: number, bucket: BucketName): number {
  return Math.floor(timeMs / BUCKETS[bucket]);
}

/** How many buckets `[from, to)` touches. */
export function bucketCount(from: Date, to: Date, bucket: BucketName): number {
  return bucketIndex(to.getTime() - 1, bucket) - bucketIndex(from.getTime(), bucket) + 1;
}

export function validateCohortStatsRequest(
  input: { metric: unknown; from: unknown; to: unknown; bucket: unknown; timeZone?: unknown },
  limits: AggregateLimits,
): CohortStatsRequest {
  const metric = validateMetric(input.metric);
  const bucket = validateBucket(input.bucket);
  const timeZone = validateTimeZone(input.timeZone ?? 'UTC');
  const { from, to } = validateRange(input.from, input.to, limits);
  const grid = cohortGrid(bucket, timeZone);
  const buckets =
    grid.kind === 'epoch'
      ? bucketCount(from, to, bucket)
      : gridCount(grid, from.getTime(), to.getTime(), limits.maxBuckets);
  if (buckets > limits.maxBuckets) {
    throw bad(
      ErrorCode.TOO_MANY_POINTS,
      `expected at most ${limits.maxBuckets} buckets, the range holds ${buckets} ${bucket} buckets; use a wider bucket or a shorter range`,
    );
  }
  return { metric, from, to, bucket, timeZone };
}

export function validateLeaderboardRequest(
  input: { metric: unknown; from: unknown; to: unknown; limit?: unknown },
  limits: AggregateLimits,
): LeaderboardRequest {
  const metric = validateMetric(input.metric);
  const { from, to } = validateRange(input.from, input.to, limits);
  const limit = input.limit ?? DEFAULT_LEADERBOARD_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > limits.maxLeaderboardLimit) {
    throw bad(
      ErrorCode.BAD_USER_INPUT,
      `expected a limit from 1 to ${limits.maxLeaderboardLimit}, got ${JSON.stringify(limit)}`,
    );
  }
  return { metric, from, to, limit };
}
