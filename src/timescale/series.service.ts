/**
 * Bucketed per-user series: `time_bucket` with TimescaleDB, the equivalent `date_bin` on plain
 * Postgres; buckets of a minute or wider from the per-minute rollup plus the raw edges, SECOND
 * from the raw readings (series.sql.ts). HOUR and DAY in a zone other than UTC are local hours
 * and days. Empty buckets are omitted unless a fill is asked for (series.fill.ts); with maxPoints
 * the database groups coarser buckets and adjacent ones are merged (series.downsample.ts).
 * `seriesColumns` is the same series as parallel arrays (series.columns.ts): the same statement,
 * its rows read as arrays, and fill and downsampling done on points as for `series`.
 * The flavour is asked of the database once per process (on start, or on first use when the
 * database was down at start), and so are the zone names it knows.
 */
import type pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { BucketName, WireMetric } from '../domain/metrics.js';
import { detectFlavour, type Flavour } from './migrations.js';
import { AppError, ErrorCode } from '../errors.js';
import { gridStarts } from '../domain/local-time.js';
import {
  checkBucket,
  checkMetric,
  checkUserId,
  planSeries,
  type RangeLimits,
  type SeriesPlan,
} from './series.range.js';
import { classifyDbError } from './pg.failure.js';
import {
  PRIOR_READING_SQL,
  PRIOR_READINGS_FOR_USERS_SQL,
  queryArrays,
  queryRows,
  seriesForUsersStatement,
  seriesStatement,
  type SeriesRow,
} from './series.sql.js';
import { fillSeries, type FillMode } from './series.fill.js';
import { downsampleSeries } from './series.downsample.js';
import { columnsOfPoints, columnsOfRows, type SeriesColumns, type SeriesRowArray } from './series.columns.js';
import type { PriorReading, SeriesPoint } from './series.point.js';

export type { SeriesPoint } from './series.point.js';
export type { FillMode } from './series.fill.js';
export type { SeriesColumns } from './series.columns.js';

export interface SeriesArgs {
  metric: WireMetric;
  from: Date;
  to: Date;
  bucket: BucketName;
  /** IANA zone of HOUR and DAY buckets; UTC when absent. */
  timeZone?: string | null;
  /** NONE when absent. */
  fill?: FillMode | null;
  /** Downsample to at most this many points (1 to config seriesMaxPoints). */
  maxPoints?: number | null;
}

export interface SeriesService {
  /**
   * Throws INVALID_RANGE / TOO_MANY_POINTS / INVALID_METRIC / INVALID_TIME_ZONE / BAD_USER_INPUT
   * without touching the database (a zone Intl knows is checked against Postgres on the query).
   */
  check(args: SeriesArgs): SeriesPlan;
  series(userId: string, args: SeriesArgs): Promise<SeriesPoint[]>;
  /** The points of `series` as parallel arrays; the same checks and errors. */
  seriesColumns(userId: string, args: SeriesArgs): Promise<SeriesColumns>;
  /** One statement for many users; users without readings map to an empty list. */
  seriesForUsers(userIds: readonly string[], args: SeriesArgs): Promise<Map<string, SeriesPoint[]>>;
  /** Detects the database flavour; never throws (a down database is retried on first use). */
  start(): Promise<void>;
  flavour(): Promise<Flavour>;
}

const pointOfArray = (r: SeriesRowArray): SeriesPoint => ({
  time: r[0],
  count: r[1],
  avg: r[2],
  min: r[3],
  max: r[4],
  sum: r[5],
  filled: false,
});

const toPoint = (r: SeriesRow): SeriesPoint => ({
  time: r.bucket,
  count: r.count,
  avg: r.avg,
  min: r.min,
  max: r.max,
  sum: r.sum,
  filled: false,
});

/** Fill, then downsample: both on the buckets the database grouped (the plan's grid). */
function shape(
  points: SeriesPoint[],
  plan: SeriesPlan,
  fill: FillMode,
  prior: PriorReading | undefined,
): SeriesPoint[] {
  let out = points;
  if (fill !== 'NONE') {
    // The plan has already bounded the grid by the point budget; the limit is a second guard.
    const grid = gridStarts(plan.grid, plan.fromMs, plan.toMs, 2 * Math.max(plan.points, plan.maxPoints ?? 0) + 2);
    out = fillSeries(out, grid, fill, prior);
  }
  return plan.maxPoints === undefined ? out : downsampleSeries(out, plan.maxPoints);
}

export function createSeriesService(pool: pg.Pool, config: Pick<Config, 'postgres'>, logger: Logger): SeriesService {
  const limits: RangeLimits = { maxPoints: config.postgres.seriesMaxPoints, maxDays: config.postgres.rangeMaxDays };
  let detected: Promise<Flavour> | undefined;

  function flavour(): Promise<Flavour> {
    detected ??= (async () => {
      const client = await pool.connect();
      try {
        const f = await detectFlavour(client);
        logger.info(
          { flavour: f },
          'series queries use the %s bucketing',
          f === 'timescale' ? 'time_bucket' : 'date_bin',
        );
        return f;
      } finally {
        client.release();
      }
    })().catch((err: unknown) => {
      detected = undefined; // ask again next time rather than remembering an outage
      throw err;
    });
    return detected;
  }

  // Lower-cased names of pg_timezone_names, read once (a scan of the zone files, tens of ms).
  let zones: Promise<Set<string>> | undefined;
  async function checkZoneKnown(zone: string): Promise<void> {
    if (zone === 'UTC') return;
    zones ??= queryRows<{ name: string }>(pool, 'SELECT name FROM pg_timezone_names', [])
      .then((rows) => new Set(rows.map((r) => r.name.toLowerCase())))
      .catch((err: unknown) => {
        zones = undefined;
        throw err;
      });
    if (!(await zones).has(zone.toLowerCase())) {
      throw new AppError(
        ErrorCode.INVALID_TIME_ZONE,
        `timeZone: ${JSON.stringify(zone)} is not known to the time-series database`,
      );
    }
  }

  function check(args: SeriesArgs): SeriesPlan {
    checkMetric(args.metric);
    checkBucket(args.bucket);
    if (args.fill !== undefined && args.fill !== null && !['NONE', 'PREVIOUS', 'LINEAR'].includes(args.fill)) {
      throw new AppError(ErrorCode.BAD_USER_INPUT, 'fill: expected one of NONE, PREVIOUS, LINEAR');
    }
    return planSeries(args, limits);
  }

  const flavourOrUnavailable = (): Promise<Flavour> =>
    flavour().catch((err: unknown) => {
      throw classifyDbError(err);
    });

  /** What the statements need: the plan's grid goes into the SQL (none for the plain epoch bucket). */
  const queryArgs = (args: SeriesArgs, plan: SeriesPlan) => ({
    metric: args.metric,
    from: args.from,
    to: args.to,
    bucket: args.bucket,
    ...(plan.grid.kind === 'epoch' && plan.multiple === 1 ? {} : { grid: plan.grid }),
  });

  /** One user's rows of the series statement and what shaping them needs. */
  async function oneUser(
    userId: string,
    args: SeriesArgs,
  ): Promise<{ rows: SeriesRowArray[]; plan: SeriesPlan; fill: FillMode; prior: PriorReading | undefined }> {
    checkUserId(userId);
    const plan = check(args);
    const fill = args.fill ?? 'NONE';
    await checkZoneKnown(plan.zone);
    const f = await flavourOrUnavailable();
    const { text, values } = seriesStatement(f, userId, queryArgs(args, plan));
    const [rows, prior] = await Promise.all([
      queryArrays<SeriesRowArray>(pool, text, values),
      fill === 'NONE'
        ? Promise.resolve([])
        : queryRows<PriorReading>(pool, PRIOR_READING_SQL, [userId, args.metric, args.from]),
    ]);
    return { rows, plan, fill, prior: prior[0] };
  }

  return {
    check,
    flavour,
    async start() {
      await flavour().catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'database flavour unknown at start; asking again on first query'),
      );
    },
    async series(userId, args) {
      const { rows, plan, fill, prior } = await oneUser(userId, args);
      return shape(rows.map(pointOfArray), plan, fill, prior);
    },
    async seriesColumns(userId, args) {
      const { rows, plan, fill, prior } = await oneUser(userId, args);
      // Nothing to fill or merge: straight from the rows, no point objects on the way.
      if (fill === 'NONE' && plan.maxPoints === undefined) return columnsOfRows(rows);
      return columnsOfPoints(shape(rows.map(pointOfArray), plan, fill, prior));
    },
    async seriesForUsers(userIds, args) {
      userIds.forEach(checkUserId);
      const plan = check(args);
      const fill = args.fill ?? 'NONE';
      const out = new Map<string, SeriesPoint[]>(userIds.map((id) => [id, []]));
      if (userIds.length === 0) return out;
      await checkZoneKnown(plan.zone);
      const f = await flavourOrUnavailable();
      const distinct = [...new Set(userIds)];
      const { text, values } = seriesForUsersStatement(f, distinct, queryArgs(args, plan));
      const [rows, priors] = await Promise.all([
        queryRows<SeriesRow & { user_id: string }>(pool, text, values),
        fill === 'NONE'
          ? Promise.resolve([])
          : queryRows<PriorReading & { user_id: string }>(pool, PRIOR_READINGS_FOR_USERS_SQL, [
              distinct,
              args.metric,
              args.from,
            ]),
      ]);
      for (const r of rows) out.get(r.user_id)?.push(toPoint(r));
      const priorOf = new Map(priors.map((p) => [p.user_id, { time: p.time, value: p.value }]));
      for (const [id, points] of out) out.set(id, shape(points, plan, fill, priorOf.get(id)));
      return out;
    },
  };
}
