/**
 * One user's readings, oldest first, in pages for `GET /users/{userId}/export` (docs/api.md).
 *
 * Keyset pages on (time, metric): each page asks every metric of the catalogue for its next rows
 * through the primary key (user_id, metric, time), a range scan each, and keeps the oldest
 * `pageSize` of them. So a page costs the same whether it is the first or the millionth, nothing is
 * sorted but one page, and no index beyond the primary key is needed. Memory: one page.
 */
import type pg from 'pg';
import { WIRE_METRICS, type WireMetric } from '../domain/metrics.js';
import { queryRows } from './series.sql.js';

export interface ExportedReading {
  eventId: string | null;
  userId: string;
  metric: WireMetric;
  time: Date;
  value: number;
  deviceId: string | null;
}

export interface ExportService {
  /** Pages of the user's readings in [from, to), oldest first (ties by metric name). */
  pages(userId: string, from: Date, to: Date, pageSize?: number): AsyncGenerator<ExportedReading[]>;
}

interface Row {
  metric: string;
  time: Date;
  value: number;
  device_id: string | null;
  event_id: string | null;
}

// $1 user, $2 metrics, $3 from, $4 to, $5 last time, $6 last metric, $7 page size. A metric after
// the last one may repeat the last time; the others start after it.
const PAGE_SQL = `SELECT r.metric, r.time, r.value, r.device_id, r.event_id
FROM unnest($2::text[]) AS m(metric)
CROSS JOIN LATERAL (
  SELECT metric, time, value, device_id, event_id
  FROM readings
  WHERE user_id = $1 AND metric = m.metric AND time >= GREATEST($3::timestamptz, $5::timestamptz) AND time < $4
    AND (time > $5 OR m.metric > $6)
  ORDER BY time
  LIMIT $7
) AS r
ORDER BY r.time, r.metric
LIMIT $7`;

export const EXPORT_PAGE_SIZE = 2000;

export function createExportService(pool: pg.Pool): ExportService {
  return {
    async *pages(userId, from, to, pageSize = EXPORT_PAGE_SIZE) {
      // Before the first page: "after" a point just before `from`, with a metric name below all.
      let lastTime = new Date(from.getTime() - 1);
      let lastMetric = '';
      for (;;) {
        const rows = await queryRows<Row>(pool, PAGE_SQL, [
          userId,
          WIRE_METRICS,
          from,
          to,
          lastTime,
          lastMetric,
          pageSize,
        ]);
        if (rows.length === 0) return;
        yield rows.map((r) => ({
          eventId: r.event_id,
          userId,
          metric: r.metric as WireMetric,
          time: r.time,
          value: r.value,
          deviceId: r.device_id,
        }));
        if (rows.length < pageSize) return;
        const last = rows[rows.length - 1]!;
        lastTime = last.time;
        lastMetric = last.metric;
      }
    },
  };
}
