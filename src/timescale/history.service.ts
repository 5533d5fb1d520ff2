/**
 * Reads of the job's stored output (tables of db/migrations/004, written by the history writer in
 * the worker): the `windows` and `alerts` queries, and the events after an old cursor that a
 * gateway's replay log no longer holds. Every event comes with its topic position, from which the
 * resolvers make the same cursor a subscription would have given.
 */
import type pg from 'pg';
import type { Config } from '../config.js';
import { AppError, ErrorCode } from '../errors.js';
import type { WireMetric } from '../domain/metrics.js';
import type { LiveAlert, LiveWindow } from '../domain/events.js';
import { checkMetric, checkRange, checkUserId } from './series.range.js';
import { queryRows } from './series.sql.js';

export interface Stored<T> {
  event: T;
  partition: number;
  offset: number;
}

export interface HistoryService {
  /** One user's windows starting in [from, to), oldest first; TOO_MANY_POINTS past the row limit. */
  windows(userId: string, metrics: readonly WireMetric[] | null, from: Date, to: Date): Promise<Stored<LiveWindow>[]>;
  /** One user's alerts (or everyone's for null) timed in [from, to), oldest first. */
  alerts(userId: string | null, from: Date, to: Date): Promise<Stored<LiveAlert>[]>;
  /**
   * One user's windows on `topic`'s `partition` with an offset in (after, before), in offset
   * order: what a resumed subscription replays from the store before the gateway's log takes over.
   */
  windowsBetween(
    userId: string,
    metrics: readonly WireMetric[] | null,
    topic: string,
    partition: number,
    after: number,
    before: number,
  ): Promise<Stored<LiveWindow>[]>;
  /** Alerts on `topic`'s `partition` in (after, before); one user's, or everyone's for null. */
  alertsBetween(
    userId: string | null,
    topic: string,
    partition: number,
    after: number,
    before: number,
  ): Promise<Stored<LiveAlert>[]>;
}

interface WindowRow {
  user_id: string;
  metric: string;
  window_start: Date;
  window_end: Date;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
  kafka_partition: number;
  kafka_offset: string;
}

interface AlertRow {
  alert_id: string;
  user_id: string;
  kind: string;
  time: Date;
  message: string;
  details: Record<string, unknown> | null;
  kafka_partition: number;
  kafka_offset: string;
}

const WINDOW_COLUMNS =
  'user_id, metric, window_start, window_end, count, avg, min, max, sum, kafka_partition, kafka_offset';
const ALERT_COLUMNS = 'alert_id, user_id, kind, time, message, details, kafka_partition, kafka_offset';

const toWindow = (r: WindowRow): Stored<LiveWindow> => ({
  event: {
    userId: r.user_id,
    metric: r.metric as WireMetric,
    windowStart: r.window_start,
    windowEnd: r.window_end,
    count: r.count,
    avg: r.avg,
    min: r.min,
    max: r.max,
    sum: r.sum,
  },
  partition: r.kafka_partition,
  offset: Number(r.kafka_offset),
});

const toAlert = (r: AlertRow): Stored<LiveAlert> => ({
  event: { alertId: r.alert_id, userId: r.user_id, kind: r.kind, time: r.time, message: r.message, details: r.details },
  partition: r.kafka_partition,
  offset: Number(r.kafka_offset),
});

export function createHistoryService(pool: pg.Pool, config: Pick<Config, 'postgres'>): HistoryService {
  const maxRows = config.postgres.seriesMaxPoints;
  const maxDays = config.postgres.rangeMaxDays;

  /** Refused, never truncated: one row more than the limit is read to know. */
  const bounded = <T>(rows: T[]): T[] => {
    if (rows.length > maxRows) {
      throw new AppError(
        ErrorCode.TOO_MANY_POINTS,
        `this range holds more than ${maxRows} events: ask for a shorter range`,
        { details: { maxPoints: maxRows } },
      );
    }
    return rows;
  };

  const metricList = (metrics: readonly WireMetric[] | null): string[] | null =>
    metrics && metrics.length > 0 ? metrics.map((m) => checkMetric(m)) : null;

  return {
    async windows(userId, metrics, from, to) {
      checkUserId(userId);
      checkRange(from, to, maxDays);
      const rows = await queryRows<WindowRow>(
        pool,
        `SELECT ${WINDOW_COLUMNS} FROM metric_windows
WHERE user_id = $1 AND window_start >= $2 AND window_start < $3 AND ($4::text[] IS NULL OR metric = ANY($4::text[]))
ORDER BY window_start, metric
LIMIT $5`,
        [userId, from, to, metricList(metrics), maxRows + 1],
      );
      return bounded(rows).map(toWindow);
    },
    async alerts(userId, from, to) {
      if (userId !== null) checkUserId(userId);
      checkRange(from, to, maxDays);
      const rows = await queryRows<AlertRow>(
        pool,
        `SELECT ${ALERT_COLUMNS} FROM alert_events
WHERE time >= $1 AND time < $2 AND ($3::text IS NULL OR user_id = $3)
ORDER BY time, alert_id
LIMIT $4`,
        [from, to, userId, maxRows + 1],
      );
      return bounded(rows).map(toAlert);
    },
    async windowsBetween(userId, metrics, topic, partition, after, before) {
      const rows = await queryRows<WindowRow>(
        pool,
        `SELECT ${WINDOW_COLUMNS} FROM metric_windows
WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset > $3 AND kafka_offset < $4 AND user_id = $5
  AND ($6::text[] IS NULL OR metric = ANY($6::text[]))
ORDER BY kafka_offset`,
        [topic, partition, after, before, userId, metricList(metrics)],
      );
      return rows.map(toWindow);
    },
    async alertsBetween(userId, topic, partition, after, before) {
      const rows = await queryRows<AlertRow>(
        pool,
        `SELECT ${ALERT_COLUMNS} FROM alert_events
WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset > $3 AND kafka_offset < $4 AND ($5::text IS NULL OR user_id = $5)
ORDER BY kafka_offset`,
        [topic, partition, after, before, userId],
      );
      return rows.map(toAlert);
    },
  };
}
