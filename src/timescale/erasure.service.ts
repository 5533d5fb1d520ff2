/**
 * Erasure of one user's data from every store this project keeps (docs/privacy.md): readings and
 * their per-minute rollup, stored windows and alerts, and the result caches of the gateway.
 *
 * One transaction writes the ledger row (db/migrations/005) and deletes from every table, so a
 * crash leaves either nothing done (the caller retries) or everything done with its ledger entry,
 * never a user half-erased without a record. The caches are cleared after the commit: a cache
 * cleared before could be refilled from the rows not yet deleted.
 *
 * The transaction first locks the three tables against writers (readers go on). Without it, a
 * worker INSERT running beside the erasure could commit a row the DELETE does not see while not
 * yet seeing the uncommitted ledger row either; with it, every write either committed before the
 * DELETE's snapshot or starts after the commit and meets the ledger row in its own statement
 * (src/consumer/readings.insert.ts, history.writer.ts). Writers wait for the duration of one
 * user's deletes; the worker's retry loop outlasts a lock it waits for too long.
 */
import type pg from 'pg';
import { AppError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkUserId } from './series.range.js';
import { classifyDbError, LOCK_NOT_AVAILABLE, sqlStateOf } from './pg.failure.js';

/** What one erasure removed, per store. */
export interface UserErasure {
  userId: string;
  /** The ledger's time: messages appended before it are never stored again; after it, as usual. */
  erasedAt: Date;
  requestedBy: string;
  readings: number;
  /** Rows of readings_minute (one per metric and minute) the user's readings made. */
  rollupMinutes: number;
  windows: number;
  alerts: number;
  /** Cached answers dropped (aggregates that may have counted the user). */
  cachesCleared: number;
}

/** A cache of answers that may include a user's data; `clear` drops them and says how many. */
export interface ErasableCache {
  name: string;
  clear(): number;
}

export interface ErasureService {
  /** Erases `userId`'s data; `requestedBy` is the subject of the principal who asked, kept in the ledger. */
  erase(userId: string, requestedBy: string): Promise<UserErasure>;
}

export interface ErasureServiceOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Cleared after each erasure (the gateway's Trino aggregate cache). */
  caches?: readonly ErasableCache[];
  /** Told of each erasure once committed (the gateway's copy of the ledger, for its replay log). */
  onErased?: (userId: string, erasedAt: Date) => void;
  /** How long the erasure waits for writers to finish their statement. Default 10 s. */
  lockTimeoutMs?: number;
}

const MINUTE = `date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;

/** Whether readings_minute is TimescaleDB's continuous aggregate (a view) rather than the trigger-kept table. */
export const ROLLUP_IS_CONTINUOUS_SQL = `SELECT coalesce((SELECT relkind = 'v' FROM pg_class WHERE oid = to_regclass('readings_minute')), false) AS continuous`;

/** The rollup's rows are (user, metric, minute): the user's are the distinct metric-minutes of the readings deleted. */
export const DELETE_READINGS_SQL = `WITH gone AS (DELETE FROM readings WHERE user_id = $1 RETURNING metric, time)
SELECT count(*)::int AS readings, count(DISTINCT (metric, ${MINUTE}))::int AS minutes,
       min(${MINUTE}) AS first_minute, max(${MINUTE}) AS last_minute
FROM gone`;

/**
 * The range of a continuous-aggregate refresh covering the minutes of the deleted readings, as
 * SQL literals: CALL takes no bind parameters for the procedure's arguments in every driver path,
 * and the values are our own Dates, not client text.
 */
export function refreshStatement(firstMinute: Date, lastMinute: Date): string {
  const end = new Date(lastMinute.getTime() + 60_000);
  return `CALL refresh_continuous_aggregate('readings_minute', '${firstMinute.toISOString()}'::timestamptz, '${end.toISOString()}'::timestamptz)`;
}

/** The latest erasure time (epoch ms) of every erased user: what readers of Kafka check events against. */
export async function loadLatestErasures(pool: pg.Pool): Promise<Map<string, number>> {
  const rows = await pool.query<{ user_id: string; erased_at: Date }>(
    'SELECT user_id, max(erased_at) AS erased_at FROM erasures GROUP BY user_id',
  );
  return new Map(rows.rows.map((r) => [r.user_id, r.erased_at.getTime()]));
}

export function createErasureService(options: ErasureServiceOptions): ErasureService {
  const { pool } = options;
  const log = options.logger.child({ component: 'erasure' });
  const caches = options.caches ?? [];
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;

  async function eraseStored(userId: string, requestedBy: string) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
        // SHARE ROW EXCLUSIVE: conflicts with every writer and with another erasure, not with readers.
        await client.query('LOCK TABLE readings, metric_windows, alert_events IN SHARE ROW EXCLUSIVE MODE');
        // clock_timestamp(), not now(): the time once the writers are out, not when the transaction began.
        const ledger = await client.query<{ erased_at: Date }>(
          'INSERT INTO erasures (user_id, erased_at, requested_by) VALUES ($1, clock_timestamp(), $2) RETURNING erased_at',
          [userId, requestedBy],
        );
        const readings = await client.query<{
          readings: number;
          minutes: number;
          first_minute: Date | null;
          last_minute: Date | null;
        }>(DELETE_READINGS_SQL, [userId]);
        const windows = await client.query('DELETE FROM metric_windows WHERE user_id = $1', [userId]);
        const alerts = await client.query('DELETE FROM alert_events WHERE user_id = $1', [userId]);
        const rollup = await client.query<{ continuous: boolean }>(ROLLUP_IS_CONTINUOUS_SQL);
        await client.query('COMMIT');
        const r = readings.rows[0];
        return {
          erasedAt: ledger.rows[0]!.erased_at,
          readings: r?.readings ?? 0,
          rollupMinutes: r?.minutes ?? 0,
          firstMinute: r?.first_minute ?? null,
          lastMinute: r?.last_minute ?? null,
          windows: windows.rowCount ?? 0,
          alerts: alerts.rowCount ?? 0,
          continuous: rollup.rows[0]?.continuous ?? false,
        };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  /**
   * TimescaleDB: the continuous aggregate keeps materialized minutes until refreshed, so the
   * user's minutes are refreshed now (a refresh cannot run inside a transaction, hence after the
   * commit). Should it fail, the DELETE left invalidations that the aggregate's policy refreshes
   * within a minute; the erasure itself is done and recorded, so it is not failed for that.
   */
  async function refreshRollup(first: Date, last: Date): Promise<void> {
    try {
      await pool.query(refreshStatement(first, last));
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        'refreshing readings_minute after an erasure failed; its policy refreshes it within a minute',
      );
    }
  }

  return {
    async erase(userId, requestedBy) {
      checkUserId(userId);
      let stored: Awaited<ReturnType<typeof eraseStored>>;
      try {
        stored = await eraseStored(userId, requestedBy);
      } catch (err) {
        // Unavailable like any lock timeout (pg.failure.ts), with words for what did not happen.
        if (sqlStateOf(err) === LOCK_NOT_AVAILABLE)
          throw new AppError(ErrorCode.DATABASE_UNAVAILABLE, 'the database is busy; erasure not started, try again', {
            retriable: true,
            cause: err,
          });
        throw classifyDbError(err);
      }
      options.onErased?.(userId, stored.erasedAt);
      if (stored.continuous && stored.firstMinute && stored.lastMinute)
        await refreshRollup(stored.firstMinute, stored.lastMinute);
      let cachesCleared = 0;
      for (const cache of caches) cachesCleared += cache.clear();
      const result: UserErasure = {
        userId,
        erasedAt: stored.erasedAt,
        requestedBy,
        readings: stored.readings,
        rollupMinutes: stored.rollupMinutes,
        windows: stored.windows,
        alerts: stored.alerts,
        cachesCleared,
      };
      // The ledger holds who and when; the log says what was removed, never any of the data.
      log.info({ ...result, erasedAt: result.erasedAt.toISOString() }, 'user data erased');
      return result;
    },
  };
}
