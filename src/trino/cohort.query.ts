/**
 * cohortStats: per epoch-aligned bucket, across all users, the number of users and readings and
 * avg/min/max/approximate p50 and p95 of the metric's values, over `readings` in the `timescale`
 * catalog. Empty buckets are omitted, as in `series`.
 *
 * The bucket is computed as an index (floor(epoch seconds / width)) and turned into its start
 * instant here, so SQL and labels share one definition of alignment: the Unix epoch, in UTC,
 * independent of the session time zone.
 *
 * In a zone other than UTC, HOUR and DAY are local hours and days, as in `series`: Trino
 * truncates the reading's time in that zone (`date_trunc(unit, at_timezone(time, zone))`, a DST
 * day has 23 or 25 hours) and the bucket comes back as the epoch milliseconds of its start.
 */
import { BUCKETS, type BucketName } from '../domain/metrics.js';
import { cohortGrid, type CohortStatsRequest } from './aggregate.request.js';
import type { PreparedStatement } from './prepared-statement.js';
import { integerOf, numberOf, shapeError } from './result-values.js';

export interface CohortPoint {
  /** Start of the bucket. */
  time: Date;
  users: number;
  count: number;
  avg: number;
  min: number;
  max: number;
  /** approx_percentile(value, 0.5): see docs/trino.md for its error bound. */
  p50: number;
  p95: number;
}

export const COHORT_STATS_STATEMENT = 'fitbit_cohort_stats';

/**
 * Filters first on (metric, time), which the connector pushes down to Postgres; one t-digest
 * serves both percentiles.
 */
/** The cohort aggregates over `readings`, grouped by `bucket` (the first column) in order. */
function cohortSql(bucket: string): string {
  return [
    'SELECT',
    `  ${bucket},`,
    '  count(DISTINCT r.user_id) AS users,',
    '  count(*) AS readings,',
    '  avg(r.value) AS avg_value,',
    '  min(r.value) AS min_value,',
    '  max(r.value) AS max_value,',
    '  approx_percentile(r.value, ARRAY[0.5, 0.95]) AS percentiles',
    'FROM readings r',
    'WHERE r.metric = ? AND r."time" >= ? AND r."time" < ?',
    'GROUP BY 1',
    'ORDER BY 1',
  ].join('\n');
}

export const COHORT_STATS_SQL = cohortSql('CAST(floor(to_unixtime(r."time") / ?) AS bigint) AS bucket_index');

export const COHORT_STATS_LOCAL_STATEMENT = 'fitbit_cohort_stats_local';

/** The same aggregates per local hour or day: the first column is the bucket start in epoch ms. */
export const COHORT_STATS_LOCAL_SQL = cohortSql(
  'CAST(round(to_unixtime(date_trunc(?, at_timezone(r."time", ?))) * 1000) AS bigint) AS bucket_start_ms',
);

export function bucketWidthSeconds(bucket: BucketName): number {
  return BUCKETS[bucket] / 1000;
}

export function cohortStatsStatement(request: CohortStatsRequest): PreparedStatement {
  const grid = cohortGrid(request.bucket, request.timeZone);
  if (grid.kind === 'local') {
    return {
      name: COHORT_STATS_LOCAL_STATEMENT,
      sql: COHORT_STATS_LOCAL_SQL,
      params: [
        { type: 'token', value: grid.unit },
        { type: 'zone', value: grid.zone },
        { type: 'token', value: request.metric },
        { type: 'timestamp', value: request.from },
        { type: 'timestamp', value: request.to },
      ],
    };
  }
  return {
    name: COHORT_STATS_STATEMENT,
    sql: COHORT_STATS_SQL,
    params: [
      { type: 'bigint', value: bucketWidthSeconds(request.bucket) },
      { type: 'token', value: request.metric },
      { type: 'timestamp', value: request.from },
      { type: 'timestamp', value: request.to },
    ],
  };
}

/** Bucket index -> the bucket's start instant. */
export function bucketStartOf(index: number, bucket: BucketName): Date {
  return new Date(index * BUCKETS[bucket]);
}

/** `local`: the rows of COHORT_STATS_LOCAL_SQL, whose first column is already the start in epoch ms. */
export function parseCohortStatsRows(rows: readonly unknown[][], bucket: BucketName, local = false): CohortPoint[] {
  const s = local ? COHORT_STATS_LOCAL_STATEMENT : COHORT_STATS_STATEMENT;
  return rows.map((row) => {
    const [index, users, count, avg, min, max, percentiles] = row;
    if (!Array.isArray(percentiles) || percentiles.length !== 2) throw shapeError(s, 'two percentiles', percentiles);
    return {
      time: local ? new Date(integerOf(s, index)) : bucketStartOf(integerOf(s, index), bucket),
      users: integerOf(s, users),
      count: integerOf(s, count),
      avg: numberOf(s, avg),
      min: numberOf(s, min),
      max: numberOf(s, max),
      p50: numberOf(s, percentiles[0]),
      p95: numberOf(s, percentiles[1]),
    };
  });
}
