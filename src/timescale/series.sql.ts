/**
 * The SQL behind `series`: one text per database flavour, every value a bind parameter.
 * Buckets are aligned to the Unix epoch in UTC and labelled by their start. TimescaleDB's
 * `time_bucket` uses 2000-01-03 as its default origin; every bucket width here divides a day and
 * that origin is a whole number of days after the epoch, so both flavours give the same buckets.
 */
import type pg from 'pg';
import { AppError, ErrorCode } from '../errors.js';
import { BUCKETS, type BucketName } from '../domain/metrics.js';
import type { Flavour } from './migrations.js';

/** Bucket width as a Postgres interval literal, bound as a parameter. */
export function bucketInterval(bucket: BucketName): string {
  return `${BUCKETS[bucket] / 1000} seconds`;
}

function bucketExpr(flavour: Flavour, widthParam: string): string {
  return flavour === 'timescale'
    ? `time_bucket(${widthParam}::interval, time)`
    : `date_bin(${widthParam}::interval, time, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
}

const AGGREGATES = 'count(*)::int AS count, avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum';

/** $1 user id, $2 metric, $3 from (inclusive), $4 to (exclusive), $5 bucket interval. */
export function seriesSql(flavour: Flavour): string {
  return `SELECT ${bucketExpr(flavour, '$5')} AS bucket, ${AGGREGATES}
FROM readings
WHERE user_id = $1 AND metric = $2 AND time >= $3 AND time < $4
GROUP BY bucket
ORDER BY bucket`;
}

/** Several users at once (DataLoader): $1 user ids (text[]), the rest as in `seriesSql`. */
export function seriesForUsersSql(flavour: Flavour): string {
  return `SELECT user_id, ${bucketExpr(flavour, '$5')} AS bucket, ${AGGREGATES}
FROM readings
WHERE user_id = ANY($1::text[]) AND metric = $2 AND time >= $3 AND time < $4
GROUP BY user_id, bucket
ORDER BY user_id, bucket`;
}

export interface SeriesRow {
  bucket: Date;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
}

/** Connection-class failures worth a retry; anything else is a bug and stays masked. */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/**
 * A database that cannot be reached becomes DATABASE_UNAVAILABLE (retriable); other driver errors
 * pass on unchanged and are masked by formatError, so SQL and host names never reach a client.
 */
export function classifyDbError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message ?? '';
  if ((code && UNAVAILABLE.has(code)) || /timeout|terminat|Connection/i.test(message)) {
    return new AppError(ErrorCode.DATABASE_UNAVAILABLE, 'the time-series database is not reachable right now', {
      retriable: true,
      cause: err,
    });
  }
  return err;
}

/** Runs one parameterised statement. */
export async function queryRows<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string,
  values: unknown[],
): Promise<R[]> {
  try {
    return (await pool.query<R>(text, values)).rows;
  } catch (err) {
    throw classifyDbError(err);
  }
}
