/**
 * Raw readings: cursor-paged for one user and metric (time ascending, so pages are stable while
 * new readings arrive at the end), and the latest reading of many users in one statement.
 */
import type pg from 'pg';
import type { Config } from '../config.js';
import type { WireMetric } from '../domain/metrics.js';
import { AppError, ErrorCode } from '../errors.js';
import { decodeCursor, encodeCursor } from './readings.cursor.js';
import { checkMetric, checkRange, checkUserId } from './series.range.js';
import { classifyDbError } from './pg.failure.js';
import { queryRows } from './series.sql.js';

export const READINGS_PAGE_DEFAULT = 100;
export const READINGS_PAGE_MAX = 1000;

export interface StoredReading {
  userId: string;
  metric: WireMetric;
  time: Date;
  value: number;
  deviceId: string | null;
}

export interface ReadingsPage {
  nodes: StoredReading[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface ReadingsArgs {
  metric: WireMetric;
  from: Date;
  to: Date;
  first?: number | null | undefined;
  after?: string | null | undefined;
}

export interface ReadingsService {
  readings(userId: string, args: ReadingsArgs): Promise<ReadingsPage>;
  /** One statement for many users; a user without readings of the metric maps to null. */
  latestForUsers(userIds: readonly string[], metric: WireMetric): Promise<Map<string, StoredReading | null>>;
}

interface Row {
  time: Date;
  value: number;
  device_id: string | null;
  pos: string;
}

// The cursor condition is a bind parameter like the rest; only its presence changes the text.
const pageSql = (
  withCursor: boolean,
) => `SELECT time, value, device_id, (extract(epoch FROM time) * 1000000)::bigint::text AS pos
FROM readings
WHERE user_id = $1 AND metric = $2 AND time >= $3 AND time < $4${
  withCursor
    ? `
  AND time > TIMESTAMPTZ 'epoch' + $6::bigint * INTERVAL '1 microsecond'`
    : ''
}
ORDER BY time
LIMIT $5`;

// A lateral index probe per user reads one row each; DISTINCT ON (user_id) over the same filter
// would read and sort every reading of every user in the batch.
const LATEST_SQL = `SELECT l.user_id, l.time, l.value, l.device_id
FROM unnest($1::text[]) AS u(id)
CROSS JOIN LATERAL (
  SELECT user_id, time, value, device_id FROM readings
  WHERE user_id = u.id AND metric = $2
  ORDER BY time DESC
  LIMIT 1
) AS l`;

/**
 * `latest` runs once per request that asks for it, with the same text every time: as a named
 * statement each pooled connection parses and plans it once, and later requests send only the
 * parameters (a generic plan fits it: one index probe per id whatever the ids).
 */
const LATEST_STATEMENT = 'readings_latest_v1';

export function checkFirst(first: number | null | undefined): number {
  if (first === null || first === undefined) return READINGS_PAGE_DEFAULT;
  if (!Number.isInteger(first) || first < 1 || first > READINGS_PAGE_MAX) {
    throw new AppError(
      ErrorCode.BAD_USER_INPUT,
      `first: expected a whole number from 1 to ${READINGS_PAGE_MAX}, got ${first}`,
      {
        details: { max: READINGS_PAGE_MAX },
      },
    );
  }
  return first;
}

export function createReadingsService(pool: pg.Pool, config: Pick<Config, 'postgres'>): ReadingsService {
  return {
    async readings(userId, args) {
      checkUserId(userId);
      const metric = checkMetric(args.metric);
      checkRange(args.from, args.to, config.postgres.rangeMaxDays);
      const first = checkFirst(args.first);
      const after = args.after === null || args.after === undefined ? undefined : decodeCursor(args.after);
      const values: unknown[] = [userId, metric, args.from, args.to, first + 1];
      if (after !== undefined) values.push(after);
      // One row beyond the page answers hasNextPage without a count.
      const rows = await queryRows<Row>(pool, pageSql(after !== undefined), values);
      const page = rows.slice(0, first);
      const last = page.at(-1);
      return {
        nodes: page.map((r) => ({ userId, metric, time: r.time, value: r.value, deviceId: r.device_id })),
        endCursor: last ? encodeCursor(last.pos) : null,
        hasNextPage: rows.length > first,
      };
    },
    async latestForUsers(userIds, metric) {
      userIds.forEach(checkUserId);
      checkMetric(metric);
      const out = new Map<string, StoredReading | null>(userIds.map((id) => [id, null]));
      if (userIds.length === 0) return out;
      let rows: (Omit<Row, 'pos'> & { user_id: string })[];
      try {
        ({ rows } = await pool.query<Omit<Row, 'pos'> & { user_id: string }>({
          name: LATEST_STATEMENT,
          text: LATEST_SQL,
          values: [[...new Set(userIds)], metric],
        }));
      } catch (err) {
        throw classifyDbError(err);
      }
      for (const r of rows)
        out.set(r.user_id, { userId: r.user_id, metric, time: r.time, value: r.value, deviceId: r.device_id });
      return out;
    },
  };
}
