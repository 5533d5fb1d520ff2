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
 * Local hours and days (a `timeZone` other than UTC) group the same parts by the buckets
 * `date_trunc(unit, t, zone)` would give, computed without converting a row to local time:
 * between two offset changes they are the epoch grid moved by the offset (`date_bin` with another
 * origin), and the bucket holding `from` or a change gets a fixed label (`localGridPieces` in
 * src/domain/local-time.ts, a CASE of a branch or three). So a local day costs what a UTC day
 * costs. Every zone's offset is a whole number of minutes (since 1972), so a rollup minute never
 * straddles two local buckets. The coarser buckets of downsampling are multiples of the width on
 * the epoch grid, or on the wall clock of the zone (`t AT TIME ZONE zone`, series.range.ts
 * planSeries). Bounds, origins, labels and the zone are bind parameters too.
 */
import type pg from 'pg';
import { BUCKETS, type BucketName } from '../domain/metrics.js';
import { localGridPieces, type BucketGrid, type GridPiece } from '../domain/local-time.js';
import type { Flavour } from './migrations.js';
import { classifyDbError } from './pg.failure.js';

/** Width of a `readings_minute` row. */
export const ROLLUP_MS = 60_000;

/** Where a series reads from: every reading, or the per-minute rollup plus the raw edges. */
export type SeriesSource = 'raw' | 'rollup';

/** The rollup serves every bucket made of whole minutes; SECOND stays on the raw readings. */
export function seriesSource(bucket: BucketName, grid?: BucketGrid): SeriesSource {
  const widthMs = grid === undefined ? BUCKETS[bucket] : grid.kind === 'local' ? BUCKETS.HOUR : grid.widthMs;
  return widthMs % ROLLUP_MS === 0 ? 'rollup' : 'raw';
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

/** Width of a grid's bucket as an interval literal (epoch and wall grids). */
export function widthInterval(widthMs: number): string {
  return `${widthMs / 1000} seconds`;
}

/**
 * How a statement buckets a timestamp column: `$5` is the width (an interval). `next` is the
 * number of the first parameter after the fixed ones: the zone of a wall grid, or the pieces of a
 * local grid (`localGridPieces`), each an upper bound (but the last) and an origin or a label.
 */
interface Bucketing {
  flavour: Flavour;
  grid: BucketGrid | undefined;
  next: number;
  pieces: readonly GridPiece[] | undefined;
}

function binExpr(flavour: Flavour, widthParam: string, column: string, origin: string): string {
  return flavour === 'timescale'
    ? `time_bucket(${widthParam}::interval, ${column}, ${origin})`
    : `date_bin(${widthParam}::interval, ${column}, ${origin})`;
}

/** CASE WHEN t < $a THEN <label or bin> WHEN t < $b THEN ... ELSE ... END, one branch per piece. */
function piecesExpr(b: Bucketing, widthParam: string, column: string): string {
  const pieces = b.pieces;
  if (!pieces || pieces.length === 0) throw new Error('a local grid needs its pieces (localGridPieces)');
  let n = b.next;
  const branch = (piece: GridPiece): string =>
    'labelMs' in piece ? `$${n++}::timestamptz` : binExpr(b.flavour, widthParam, column, `$${n++}::timestamptz`);
  if (pieces.length === 1) return branch(pieces[0]!);
  const whens = pieces.slice(0, -1).map((piece) => {
    const bound = `$${n++}`;
    return `WHEN ${column} < ${bound}::timestamptz THEN ${branch(piece)}`;
  });
  return `CASE ${whens.join(' ')} ELSE ${branch(pieces[pieces.length - 1]!)} END`;
}

function bucketExpr(b: Bucketing | Flavour, widthParam: string, column: string): string {
  const bucketing: Bucketing = typeof b === 'string' ? { flavour: b, grid: undefined, next: 0, pieces: undefined } : b;
  const { flavour, grid } = bucketing;
  const zone = `$${bucketing.next}`;
  if (grid?.kind === 'local') return piecesExpr(bucketing, widthParam, column);
  if (grid?.kind === 'wall') {
    const local = `${column} AT TIME ZONE ${zone}::text`;
    const binned =
      flavour === 'timescale'
        ? `time_bucket(${widthParam}::interval, ${local}, TIMESTAMP '1970-01-01 00:00:00')`
        : `date_bin(${widthParam}::interval, ${local}, TIMESTAMP '1970-01-01 00:00:00')`;
    return `(${binned} AT TIME ZONE ${zone}::text)`;
  }
  // time_bucket's default origin (2000-01-03) is on the epoch grid only for widths dividing a day.
  const origin = grid !== undefined && 86_400_000 % grid.widthMs !== 0;
  if (flavour === 'timescale') {
    return origin
      ? `time_bucket(${widthParam}::interval, ${column}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`
      : `time_bucket(${widthParam}::interval, ${column})`;
  }
  return `date_bin(${widthParam}::interval, ${column}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
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
function rollupParts(b: Bucketing | Flavour, who: string, extra: string): string {
  return `SELECT ${extra}${bucketExpr(b, '$5', 'minute')} AS bucket, count, sum, min, max
  FROM readings_minute
  WHERE ${who} AND metric = $2 AND minute >= $6 AND minute < $7
  UNION ALL
  SELECT ${extra}${bucketExpr(b, '$5', 'time')}, 1, value, value, value
  FROM readings
  WHERE ${who} AND metric = $2 AND time >= $3 AND time < $6
  UNION ALL
  SELECT ${extra}${bucketExpr(b, '$5', 'time')}, 1, value, value, value
  FROM readings
  WHERE ${who} AND metric = $2 AND time >= $7 AND time < $4`;
}

/** The zone or the pieces follow the other parameters: from $6 for raw readings, $8 for the rollup. */
function bucketing(
  flavour: Flavour,
  source: SeriesSource,
  grid: BucketGrid | undefined,
  pieces: readonly GridPiece[] | undefined,
): Bucketing {
  return { flavour, grid, next: source === 'raw' ? 6 : 8, pieces };
}

/**
 * $1 user id, $2 metric, $3 from (inclusive), $4 to (exclusive), $5 bucket interval; for the
 * rollup also $6 and $7, the whole minutes of the range (`rollupBounds`); then the zone of a wall
 * grid or the pieces of a local grid. Without a grid, the bucket's epoch grid.
 */
export function seriesSql(
  flavour: Flavour,
  source: SeriesSource,
  grid?: BucketGrid,
  pieces?: readonly GridPiece[],
): string {
  const b = bucketing(flavour, source, grid, pieces);
  if (source === 'raw') {
    return `SELECT ${bucketExpr(b, '$5', 'time')} AS bucket, ${RAW_AGGREGATES}
FROM readings
WHERE user_id = $1 AND metric = $2 AND time >= $3 AND time < $4
GROUP BY bucket
ORDER BY bucket`;
  }
  return `SELECT bucket, ${ROLLUP_AGGREGATES}
FROM (
  ${rollupParts(b, 'user_id = $1', '')}
) AS parts
GROUP BY bucket
ORDER BY bucket`;
}

/** Several users at once (DataLoader): $1 user ids (text[]), the rest as in `seriesSql`. */
export function seriesForUsersSql(
  flavour: Flavour,
  source: SeriesSource,
  grid?: BucketGrid,
  pieces?: readonly GridPiece[],
): string {
  const b = bucketing(flavour, source, grid, pieces);
  if (source === 'raw') {
    return `SELECT user_id, ${bucketExpr(b, '$5', 'time')} AS bucket, ${RAW_AGGREGATES}
FROM readings
WHERE user_id = ANY($1::text[]) AND metric = $2 AND time >= $3 AND time < $4
GROUP BY user_id, bucket
ORDER BY user_id, bucket`;
  }
  return `SELECT user_id, bucket, ${ROLLUP_AGGREGATES}
FROM (
  ${rollupParts(b, 'user_id = ANY($1::text[])', 'user_id, ')}
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
  /** The buckets to group by (series.range.ts planSeries); the bucket's epoch grid when absent. */
  grid?: BucketGrid;
}

export interface SeriesStatement {
  text: string;
  values: unknown[];
}

const LOCAL_WIDTH_MS = { hour: BUCKETS.HOUR, day: BUCKETS.DAY } as const;

/** The pieces of a local grid over the statement's range; none for the other grids. */
function piecesOf(args: SeriesQueryArgs): GridPiece[] | undefined {
  return args.grid?.kind === 'local' ? localGridPieces(args.grid, args.from.getTime(), args.to.getTime()) : undefined;
}

function statementValues(
  who: unknown,
  args: SeriesQueryArgs,
  source: SeriesSource,
  pieces: readonly GridPiece[] | undefined,
): unknown[] {
  const grid = args.grid;
  const width =
    grid === undefined
      ? bucketInterval(args.bucket)
      : widthInterval(grid.kind === 'local' ? LOCAL_WIDTH_MS[grid.unit] : grid.widthMs);
  const values: unknown[] = [who, args.metric, args.from, args.to, width];
  if (source === 'rollup') {
    const { wholeFromMs, wholeToMs } = rollupBounds(args.from.getTime(), args.to.getTime());
    values.push(new Date(wholeFromMs), new Date(wholeToMs));
  }
  if (grid?.kind === 'wall') values.push(grid.zone);
  if (pieces) {
    // In the order piecesExpr numbers them: each piece's label or origin, then (but the last) its bound.
    pieces.forEach((piece, i) => {
      if (pieces.length > 1 && i < pieces.length - 1) values.push(new Date(piece.untilMs));
      values.push(new Date('labelMs' in piece ? piece.labelMs : piece.originMs));
    });
  }
  return values;
}

/** The statement `series` runs for one user (also what the query benchmark's baseline sends). */
export function seriesStatement(flavour: Flavour, userId: string, args: SeriesQueryArgs): SeriesStatement {
  const source = seriesSource(args.bucket, args.grid);
  const pieces = piecesOf(args);
  return {
    text: seriesSql(flavour, source, args.grid, pieces),
    values: statementValues(userId, args, source, pieces),
  };
}

/** The statement of `seriesForUsers`: `userIds` should be distinct. */
export function seriesForUsersStatement(
  flavour: Flavour,
  userIds: readonly string[],
  args: SeriesQueryArgs,
): SeriesStatement {
  const source = seriesSource(args.bucket, args.grid);
  const pieces = piecesOf(args);
  return {
    text: seriesForUsersSql(flavour, source, args.grid, pieces),
    values: statementValues([...userIds], args, source, pieces),
  };
}

/**
 * The last reading before `from` ($3) of one user and metric: one step down the primary key
 * (user_id, metric, time) backwards, however old it is.
 */
export const PRIOR_READING_SQL = `SELECT time, value FROM readings
WHERE user_id = $1 AND metric = $2 AND time < $3
ORDER BY time DESC
LIMIT 1`;

/** The same for many users ($1 text[]): one index step per user. */
export const PRIOR_READINGS_FOR_USERS_SQL = `SELECT u.user_id, r.time, r.value
FROM unnest($1::text[]) AS u(user_id)
CROSS JOIN LATERAL (
  SELECT time, value FROM readings
  WHERE readings.user_id = u.user_id AND metric = $2 AND time < $3
  ORDER BY time DESC
  LIMIT 1
) AS r`;

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
    throw classifyDbError(err);
  }
}

/**
 * Runs one parameterised statement with its rows as arrays (pg's `rowMode: 'array'`): the values
 * in the order of the statement's columns, without an object per row.
 */
export async function queryArrays<R extends unknown[]>(pool: pg.Pool, text: string, values: unknown[]): Promise<R[]> {
  try {
    return (await pool.query<R>({ text, values, rowMode: 'array' })).rows;
  } catch (err) {
    throw classifyDbError(err);
  }
}
