/**
 * Bucketed per-user series: `time_bucket` with TimescaleDB, the equivalent `date_bin` on plain
 * Postgres; buckets of a minute or wider from the per-minute rollup plus the raw edges, SECOND
 * from the raw readings (series.sql.ts). HOUR and DAY follow the clock of `timeZone` (default
 * UTC, src/domain/local-time.ts). Empty buckets are omitted unless `fill` asks for them, and
 * `maxPoints` merges adjacent buckets (series.shape.ts). The flavour is asked of the database
 * once per process (on start, or on first use when the database was down at start).
 */
import type pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { BUCKETS, type BucketName, type WireMetric } from '../domain/metrics.js';
import { bucketStarts, isLocalBucket } from '../domain/local-time.js';
import { detectFlavour, type Flavour } from './migrations.js';
import {
  checkBucket,
  checkMaxPoints,
  checkMetric,
  checkSeriesRange,
  checkTimeZone,
  checkUserId,
  type RangeLimits,
} from './series.range.js';
import {
  PRIOR_READING_SQL,
  queryRows,
  seriesForUsersStatement,
  seriesStatement,
  type SeriesQueryArgs,
  type SeriesRow,
} from './series.sql.js';
import { fillSeries, mergeAdjacent, mergeFactor, type FillMode, type ShapedPoint } from './series.shape.js';
import { readerDatabaseError } from './database.errors.js';

export type SeriesPoint = ShapedPoint;
export type { FillMode } from './series.shape.js';

export interface SeriesArgs {
  metric: WireMetric;
  from: Date;
  to: Date;
  bucket: BucketName;
  /** IANA zone for HOUR and DAY buckets; default UTC. */
  timeZone?: string | null | undefined;
  /** Default NONE: empty buckets omitted. */
  fill?: FillMode | null | undefined;
  /** At most this many points, by merging adjacent buckets; default: no downsampling. */
  maxPoints?: number | null | undefined;
}

/** A checked request and how it is answered. */
interface SeriesPlan {
  query: SeriesQueryArgs;
  zone: string;
  fill: FillMode;
  local: boolean;
  /** Adjacent buckets per point (1: none merged). */
  k: number;
  /** Start of every bucket (local) or every merged group (epoch) of the range; only when needed. */
  starts: number[] | undefined;
}

export interface SeriesService {
  /** Throws INVALID_RANGE / TOO_MANY_POINTS / INVALID_METRIC / INVALID_TIME_ZONE without touching the database. */
  check(args: SeriesArgs): void;
  series(userId: string, args: SeriesArgs): Promise<SeriesPoint[]>;
  /** One statement for many users; users without readings map to an empty list. */
  seriesForUsers(userIds: readonly string[], args: SeriesArgs): Promise<Map<string, SeriesPoint[]>>;
  /** Detects the database flavour; never throws (a down database is retried on first use). */
  start(): Promise<void>;
  flavour(): Promise<Flavour>;
}

const toPoint = (r: SeriesRow): SeriesPoint => ({
  time: r.bucket,
  count: r.count,
  avg: r.avg,
  min: r.min,
  max: r.max,
  sum: r.sum,
  filled: false,
});

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

  function plan(args: SeriesArgs): SeriesPlan {
    const metric = checkMetric(args.metric);
    const bucket = checkBucket(args.bucket);
    const zone = checkTimeZone(args.timeZone);
    const maxPoints = checkMaxPoints(args.maxPoints, limits.maxPoints);
    const { fromMs, toMs } = checkSeriesRange(args.from, args.to, bucket, limits, maxPoints !== undefined);
    const fill = args.fill ?? 'NONE';
    const local = isLocalBucket(bucket, zone);
    const query: SeriesQueryArgs = { metric, from: args.from, to: args.to, bucket, timeZone: zone };
    if (local) {
      // Local HOUR and DAY buckets are few (at most rangeMaxDays * 25), so they are counted and merged here.
      const starts = fill !== 'NONE' || maxPoints !== undefined ? bucketStarts(fromMs, toMs, bucket, zone) : undefined;
      const k = starts ? mergeFactor(starts.length, maxPoints) : 1;
      return { query, zone, fill, local, k, starts };
    }
    // Epoch-aligned: k adjacent buckets are grouped by the database, from the first bucket of the range.
    const width = BUCKETS[bucket];
    const origin = Math.floor(fromMs / width) * width;
    const k = mergeFactor(Math.ceil((toMs - origin) / width), maxPoints);
    query.mergeFactor = k;
    let starts: number[] | undefined;
    if (fill !== 'NONE') {
      starts = [];
      for (let t = origin; t < toMs; t += width * k) starts.push(t);
    }
    return { query, zone, fill, local, k, starts };
  }

  function check(args: SeriesArgs): void {
    plan(args);
  }

  function shape(p: SeriesPlan, points: SeriesPoint[], prior: number | undefined): SeriesPoint[] {
    const filled = p.starts ? fillSeries(points, p.starts, p.fill, prior) : points;
    return p.local && p.starts ? mergeAdjacent(filled, p.starts, p.k) : filled;
  }

  /** The last reading before `from` of each user, when the fill needs it. */
  async function priors(userIds: readonly string[], p: SeriesPlan): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (p.fill === 'NONE') return out;
    const rows = await queryRows<{ user_id: string; value: number }>(pool, PRIOR_READING_SQL, [
      [...new Set(userIds)],
      p.query.metric,
      p.query.from,
    ]);
    for (const r of rows) out.set(r.user_id, r.value);
    return out;
  }

  const flavourOrUnavailable = (): Promise<Flavour> =>
    flavour().catch((err: unknown) => {
      throw readerDatabaseError(err);
    });

  return {
    check,
    flavour,
    async start() {
      await flavour().catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'database flavour unknown at start; asking again on first query'),
      );
    },
    async series(userId, args) {
      checkUserId(userId);
      const p = plan(args);
      const f = await flavourOrUnavailable();
      const { text, values } = seriesStatement(f, userId, p.query);
      const [rows, prior] = await Promise.all([queryRows<SeriesRow>(pool, text, values), priors([userId], p)]);
      return shape(p, rows.map(toPoint), prior.get(userId));
    },
    async seriesForUsers(userIds, args) {
      userIds.forEach(checkUserId);
      const p = plan(args);
      const out = new Map<string, SeriesPoint[]>(userIds.map((id) => [id, []]));
      if (userIds.length === 0) return out;
      const f = await flavourOrUnavailable();
      const { text, values } = seriesForUsersStatement(f, [...new Set(userIds)], p.query);
      const [rows, prior] = await Promise.all([
        queryRows<SeriesRow & { user_id: string }>(pool, text, values),
        priors(userIds, p),
      ]);
      for (const r of rows) out.get(r.user_id)?.push(toPoint(r));
      for (const [id, points] of out) out.set(id, shape(p, points, prior.get(id)));
      return out;
    },
  };
}
