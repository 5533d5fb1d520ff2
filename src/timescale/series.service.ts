/**
 * Bucketed per-user series: `time_bucket` with TimescaleDB, the equivalent `date_bin` on plain
 * Postgres; buckets of a minute or wider from the per-minute rollup plus the raw edges, SECOND
 * from the raw readings (series.sql.ts). Empty buckets are omitted. The flavour is asked of the
 * database once per process (on start, or on first use when the database was down at start).
 */
import type pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { BucketName, WireMetric } from '../domain/metrics.js';
import { detectFlavour, type Flavour } from './migrations.js';
import { checkBucket, checkMetric, checkSeriesRange, checkUserId, type RangeLimits } from './series.range.js';
import { classifyDbError, queryRows, seriesForUsersStatement, seriesStatement, type SeriesRow } from './series.sql.js';

export interface SeriesPoint {
  time: Date;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
}

export interface SeriesArgs {
  metric: WireMetric;
  from: Date;
  to: Date;
  bucket: BucketName;
}

export interface SeriesService {
  /** Throws INVALID_RANGE / TOO_MANY_POINTS / INVALID_METRIC without touching the database. */
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

  function check(args: SeriesArgs): void {
    checkMetric(args.metric);
    checkSeriesRange(args.from, args.to, checkBucket(args.bucket), limits);
  }

  const flavourOrUnavailable = (): Promise<Flavour> =>
    flavour().catch((err: unknown) => {
      throw classifyDbError(err);
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
      check(args);
      const f = await flavourOrUnavailable();
      const { text, values } = seriesStatement(f, userId, args);
      const rows = await queryRows<SeriesRow>(pool, text, values);
      return rows.map(toPoint);
    },
    async seriesForUsers(userIds, args) {
      userIds.forEach(checkUserId);
      check(args);
      const out = new Map<string, SeriesPoint[]>(userIds.map((id) => [id, []]));
      if (userIds.length === 0) return out;
      const f = await flavourOrUnavailable();
      const { text, values } = seriesForUsersStatement(f, [...new Set(userIds)], args);
      const rows = await queryRows<SeriesRow & { user_id: string }>(pool, text, values);
      for (const r of rows) out.get(r.user_id)?.push(toPoint(r));
      return out;
    },
  };
}
