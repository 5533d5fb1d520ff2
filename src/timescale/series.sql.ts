/**
 * The SQL behind `series`: one text per database flavour and source, every value a bind parameter.
 * Buckets are aligned to the Unix epoch in UTC and labelled by their start. TimescaleDB's
 * `time_bucket` uses 2000-01-03 as its default origin; every bucket width here divides a day and
 * that origin is a whole number of days after the epoch, so both flavours give the same buckets.
 *
 * Buckets of a minute or wider read the per-minute rollup `readings_minute` (db/migrations/003)
 * for the whole minutes of the range and raw `readings` only for the partial minute at each edge
 * when `from`/`to` are not on a minute, then add the parts up per bucket. Every such width is a
 * whole number of minutes, so a minute never straddles two buckets and the answer is the one the
 * raw readings give (sums may differ in the last bits: the additions happen in another order).
 *
 * In a time zone other than UTC, HOUR and DAY buckets are the zone's local hours and days
 * (src/domain/local-time.ts): `date_trunc('day', t, zone)` for days, and for hours the instant
 * minus the minutes and seconds of its local clock (a wall-time round trip would merge the two
 * hours of a night whose clock turns back). Local hours and days also start on whole minutes, so
 * they read the rollup just as UTC buckets do. The same expressions serve both flavours.
 *
 * With a merge factor k > 1 (downsampling, series.shape.ts) an epoch-aligned series is grouped in
 * the database by k adjacent buckets: buckets k times as wide, aligned on the first bucket of the
 * range, so a year at MINUTE never leaves Postgres as half a million rows.
 */
import type pg from 'pg';
import { readerDatabaseError } from './database.errors.js';
import { BUCKETS, type BucketName } from '../domain/metrics.js';
import type { Flavour } from './migrations.js';
import { isLocalBucket, UTC } from '../domain/local-time.js';

/** Width of a `readings_minute` row. */
export const ROLLUP_MS = 60_000;

/** Where a series reads from: every reading, or the per-minute rollup plus the raw edges. */
export type SeriesSource = 'raw' | 'rollup';

/** The rollup serves every bucket made of whole minutes; SECOND stays on the raw readings. */
export function seriesSource(bucket: BucketName): SeriesSource {
  return BUCKETS[bucket] % ROLLUP_MS === 0 ? 'rollup' : 'raw';
}

/**
 * The whole minutes inside `[fromMs, toMs)`: the rollup answers `[wholeFromMs, wholeToMs)`, the raw
 * readings `[fromMs, wholeFromMs)` and `[wholeToMs, toMs)`. Always
 * `fromMs <= wholeFromMs <= wholeToMs <= toMs`; a range inside one minute is all edge
 * (`wholeFromMs = wholeToMs = toMs`).
 */
export function rollupBounds(fromMs: number, toMs: number): { wholeFromMs: number; wholeToMs: number } {
  const wholeFromMs = Math.min(Math.ceil(fromMs / ROLLUP_MS) * ROLLUP_MS, toMs);
  const wholeToMs = Math.max(Math.floor(toMs / ROLLUP_MS) * ROLLUP_MS, wholeFromMs);
  return { wholeFromMs, wholeToMs };
}

/** Bucket width as a Postgres interval literal, bound as a parameter. */
export function bucketInterval(bucket: BucketName): string {
  return `${BUCKETS[bucket] / 1000} seconds`;
}

/**
 * How rows are put into buckets: on the epoch (the default), on a given origin (k merged buckets),
 * or on the local hours or days of a zone. The origin or zone is the statement's last parameter.
 */
export type Bucketing = 'epoch' | 'origin' | 'local-hour' | 'local-day';

function bucketExpr(flavour: Flavour, bucketing: Bucketing, widthParam: string, column: string, extra: string): string {
  switch (bucketing) {
    case 'epoch':
      return flavour === 'timescale'
        ? `time_bucket(${widthParam}::interval, ${column})`
        : `date_bin(${widthParam}::interval, ${column}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
    case 'origin':
      return flavour === 'timescale'
        ? `time_bucket(${widthParam}::interval, ${column}, ${extra}::timestamptz)`
        : `date_bin(${widthParam}::interval, ${column}, ${extra}::timestamptz)`;
    case 'local-hour':
      return `(${column} - ((${column} AT TIME ZONE ${extra}::text) - date_trunc('hour', ${column} AT TIME ZONE ${extra}::text)))`;
    case 'local-day':
      return `date_trunc('day', ${column}, ${extra}::text)`;
    default: {
      const never: never = bucketing;
      throw new Error(`unknown bucketing ${String(never)}`);
    }
  }
}

const RAW_AGGREGATES =
  'count(*)::int AS count, avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum';

// avg is sum / count as avg(value) computes it; the sum of bigint counts is numeric, hence the casts.
const ROLLUP_AGGREGATES =
  'sum(count)::int AS count, sum(sum) / sum(count)::float8 AS avg, min(min) AS min, max(max) AS max, sum(sum) AS sum';

/**
 * The parts of a rollup series before they are added up per bucket: whole minutes [$6, $7) from
 * `readings_minute`, and each raw reading of the edges [$3, $6) and [$7, $4) as a part of its own.
 * `who` is the user condition, `extra` the columns carried through (user_id for many users).
 */
function rollupParts(flavour: Flavour, bucketing: Bucketing, who: string, extra: string): string {
  const b = (column: string) => bucketExpr(flavour, bucketing, '$5', column, '$8');
  return `SELECT ${extra}${b('minute')} AS bucket, count, sum, min, max
  FROM readings_minute
  WHERE ${who} AND metric = $2 AND minute >= $6 AND minute < $7
  UNION ALL
  SELECT ${extra}${b('time')}, 1, value, value, value
  FROM readings
  WHERE ${who} AND metric = $2 AND time >= $3 AND time < $6
  UNION ALL
  SELECT ${extra}${b('time')}, 1, value, value, value
  FROM readings
  WHERE ${who} AND metric = $2 AND time >= $7 AND time < $4`;
}

/**
 * $1 user id, $2 metric, $3 from (inclusive), $4 to (exclusive), $5 bucket interval; for the
 * rollup also $6 and $7, the whole minutes of the range (`rollupBounds`); then, unless the
 * bucketing is `epoch`, the origin or zone ($6 raw, $8 rollup).
 */
export function seriesSql(flavour: Flavour, source: SeriesSource, bucketing: Bucketing = 'epoch'): string {
  if (source === 'raw') {
    return `SELECT ${bucketExpr(flavour, bucketing, '$5', 'time', '$6')} AS bucket, ${RAW_AGGREGATES}
FROM readings
WHERE user_id = $1 AND metric = $2 AND time >= $3 AND time < $4
GROUP BY bucket
ORDER BY bucket`;
  }
  return `SELECT bucket, ${ROLLUP_AGGREGATES}
FROM (
  ${rollupParts(flavour, bucketing, 'user_id = $1', '')}
) AS parts
GROUP BY bucket
ORDER BY bucket`;
}

/** Several users at once (DataLoader): $1 user ids (text[]), the rest as in `seriesSql`. */
export function seriesForUsersSql(flavour: Flavour, source: SeriesSource, bucketing: Bucketing = 'epoch'): string {
  if (source === 'raw') {
    return `SELECT user_id, ${bucketExpr(flavour, bucketing, '$5', 'time', '$6')} AS bucket, ${RAW_AGGREGATES}
FROM readings
WHERE user_id = ANY($1::text[]) AND metric = $2 AND time >= $3 AND time < $4
GROUP BY user_id, bucket
ORDER BY user_id, bucket`;
  }
  return `SELECT user_id, bucket, ${ROLLUP_AGGREGATES}
FROM (
  ${rollupParts(flavour, bucketing, 'user_id = ANY($1::text[])', 'user_id, ')}
) AS parts
GROUP BY user_id, bucket
ORDER BY user_id, bucket`;
}

/** What a series statement needs to know; `SeriesArgs` of the service fits. */
export interface SeriesQueryArgs {
  metric: string;
  from: Date;
  to: Date;
  bucket: BucketName;
  /** IANA zone; HOUR and DAY follow its clock. Default UTC. */
  timeZone?: string | undefined;
  /** Adjacent epoch-aligned buckets grouped into one row (downsampling). Default 1. */
  mergeFactor?: number | undefined;
}

export interface SeriesStatement {
  text: string;
  values: unknown[];
}

/** The bucketing of a request, and the value of its last parameter (origin or zone), if any. */
export function bucketingOf(args: SeriesQueryArgs): { bucketing: Bucketing; extra?: unknown } {
  const zone = args.timeZone ?? UTC;
  if (isLocalBucket(args.bucket, zone)) {
    return { bucketing: args.bucket === 'DAY' ? 'local-day' : 'local-hour', extra: zone };
  }
  if ((args.mergeFactor ?? 1) > 1) {
    const width = BUCKETS[args.bucket];
    return { bucketing: 'origin', extra: new Date(Math.floor(args.from.getTime() / width) * width) };
  }
  return { bucketing: 'epoch' };
}

function statementValues(who: unknown, args: SeriesQueryArgs, source: SeriesSource, extra: unknown): unknown[] {
  const k = args.mergeFactor ?? 1;
  const width = k > 1 && !isLocalBucket(args.bucket, args.timeZone ?? UTC) ? `${(BUCKETS[args.bucket] * k) / 1000} seconds` : bucketInterval(args.bucket);
  const values: unknown[] = [who, args.metric, args.from, args.to, width];
  if (source === 'rollup') {
    const { wholeFromMs, wholeToMs } = rollupBounds(args.from.getTime(), args.to.getTime());
    values.push(new Date(wholeFromMs), new Date(wholeToMs));
  }
  if (extra !== undefined) values.push(extra);
  return values;
}

/** The statement `series` runs for one user (also what the query benchmark's baseline sends). */
export function seriesStatement(flavour: Flavour, userId: string, args: SeriesQueryArgs): SeriesStatement {
  const source = seriesSource(args.bucket);
  const { bucketing, extra } = bucketingOf(args);
  return { text: seriesSql(flavour, source, bucketing), values: statementValues(userId, args, source, extra) };
}

/** The statement of `seriesForUsers`: `userIds` should be distinct. */
export function seriesForUsersStatement(
  flavour: Flavour,
  userIds: readonly string[],
  args: SeriesQueryArgs,
): SeriesStatement {
  const source = seriesSource(args.bucket);
  const { bucketing, extra } = bucketingOf(args);
  return {
    text: seriesForUsersSql(flavour, source, bucketing),
    values: statementValues([...userIds], args, source, extra),
  };
}

/** The last reading before `from` of each user (gap filling): one index probe per user. */
export const PRIOR_READING_SQL = `SELECT u.id AS user_id, p.value
FROM unnest($1::text[]) AS u(id)
CROSS JOIN LATERAL (
  SELECT value FROM readings
  WHERE user_id = u.id AND metric = $2 AND time < $3
  ORDER BY time DESC
  LIMIT 1
) AS p`;

export interface SeriesRow {
  bucket: Date;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
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
    throw readerDatabaseError(err);
  }
}
