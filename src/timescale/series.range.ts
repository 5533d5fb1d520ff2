/**
 * Argument rules shared by every read of the readings table: who (a user id of the wire format),
 * what (a metric of the catalogue), when (a bounded, non-empty range) and how fine (a bounded
 * number of buckets). Pure, so the rules are unit-tested without a database.
 */
import { AppError, ErrorCode } from '../errors.js';
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
