/**
 * The tiering ledger in Postgres (db/migrations/006_lake.sql): what the lake holds, which of its
 * hours are stale, and the barrier that makes a copy complete. Read by the gateway (which part
 * of a range the lake answers) and written by the tierer (src/lake/tierer.ts).
 */
import type pg from 'pg';

export interface LakeLedger {
  tieringFrom: Date | null;
  tieringUntil: Date | null;
  lakeFrom: Date | null;
  tieredUntil: Date | null;
  tieredAt: Date | null;
}

export interface DirtyHour {
  hour: Date;
  generation: string;
}

/** What a reader needs: the tiered range and the dirty hours inside its request. */
export interface LakeReadView {
  lakeFrom: Date | null;
  tieredUntil: Date | null;
  dirtyHours: number[];
}

export interface LakeStore {
  ledger(): Promise<LakeLedger>;
  /** The tiered range, and the dirty hours overlapping [from, to). One round trip. */
  view(from: Date, to: Date): Promise<LakeReadView>;
  /** Widens the range whose changes mark hours dirty (before a copy is taken). */
  widen(bounds: { tieringFrom?: Date; tieringUntil?: Date }): Promise<void>;
  /**
   * Waits until every transaction that wrote readings before now has ended. After it returns, a
   * writer either committed (a copy taken now sees its rows) or will see the widened range (its
   * rows mark their hours dirty). A SHARE lock conflicts with writers' ROW EXCLUSIVE lock, so
   * taking it waits for them; it is released at once.
   */
  barrier(): Promise<void>;
  /** Publishes a finished copy: readers may use the lake for the new range. */
  settle(bounds: { lakeFrom?: Date; tieredUntil?: Date }): Promise<void>;
  /** Dirty hours that have been dirty for at least `settleMs` (by the database's clock), oldest first. */
  dirtyHours(settleMs: number, limit: number): Promise<DirtyHour[]>;
  /** Removes the marks of rewritten hours, unless they changed again meanwhile (another generation). */
  clearDirty(hours: readonly DirtyHour[]): Promise<number>;
  dirtyCount(): Promise<number>;
  /** Starts (epoch ms) of the hours of [from, to) that hold readings, ascending: one scan. */
  hoursWithReadings(from: Date, to: Date): Promise<number[]>;
  /** The oldest reading in the hot store (where a backfill without `--from` starts). */
  oldestReading(): Promise<Date | null>;
  /**
   * Runs `fn` while holding the tierer's session advisory lock, so one tierer works at a time
   * whatever the number of worker processes; returns undefined when another holds it.
   */
  exclusively<T>(fn: () => Promise<T>): Promise<T | undefined>;
}

/** Arbitrary, fixed: the advisory lock key of the tierer ("fitbit lake" as two int4). */
const LOCK_KEYS = [0x66697462, 0x6c616b65] as const;

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string | Date));

export function createLakeStore(pool: pg.Pool): LakeStore {
  return {
    async ledger() {
      const { rows } = await pool.query(
        'SELECT tiering_from, tiering_until, lake_from, tiered_until, tiered_at FROM lake_state WHERE id',
      );
      const r = rows[0] ?? {};
      return {
        tieringFrom: date(r.tiering_from),
        tieringUntil: date(r.tiering_until),
        lakeFrom: date(r.lake_from),
        tieredUntil: date(r.tiered_until),
        tieredAt: date(r.tiered_at),
      };
    },
    async view(from, to) {
      const { rows } = await pool.query(
        `SELECT s.lake_from, s.tiered_until,
                ARRAY(SELECT (extract(epoch FROM d.hour) * 1000)::bigint FROM lake_dirty_hours d
                      WHERE d.hour > $1::timestamptz - INTERVAL '1 hour' AND d.hour < $2 ORDER BY d.hour) AS dirty
         FROM lake_state s WHERE s.id`,
        [from, to],
      );
      const r = rows[0];
      if (!r) return { lakeFrom: null, tieredUntil: null, dirtyHours: [] };
      return {
        lakeFrom: date(r.lake_from),
        tieredUntil: date(r.tiered_until),
        dirtyHours: (r.dirty as string[]).map(Number),
      };
    },
    async widen(bounds) {
      await pool.query(
        `UPDATE lake_state SET tiering_from = coalesce($1, tiering_from), tiering_until = coalesce($2, tiering_until) WHERE id`,
        [bounds.tieringFrom ?? null, bounds.tieringUntil ?? null],
      );
    },
    async barrier() {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('LOCK TABLE readings IN SHARE MODE');
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async settle(bounds) {
      await pool.query(
        `UPDATE lake_state SET lake_from = coalesce($1, lake_from), tiered_until = coalesce($2, tiered_until),
                tiered_at = now() WHERE id`,
        [bounds.lakeFrom ?? null, bounds.tieredUntil ?? null],
      );
    },
    async dirtyHours(settleMs, limit) {
      // The marks carry the database's time (the triggers' now()), so the age is measured there too.
      const { rows } = await pool.query(
        `SELECT hour, generation::text AS generation FROM lake_dirty_hours
          WHERE dirty_since <= now() - make_interval(secs => $1::float8 / 1000) ORDER BY hour LIMIT $2`,
        [settleMs, limit],
      );
      return rows.map((r) => ({ hour: new Date(r.hour), generation: r.generation as string }));
    },
    async clearDirty(hours) {
      if (hours.length === 0) return 0;
      const result = await pool.query(
        `DELETE FROM lake_dirty_hours d USING unnest($1::timestamptz[], $2::bigint[]) AS k(hour, generation)
         WHERE d.hour = k.hour AND d.generation = k.generation`,
        [hours.map((h) => h.hour), hours.map((h) => h.generation)],
      );
      return result.rowCount ?? 0;
    },
    async dirtyCount() {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM lake_dirty_hours');
      return rows[0]?.n ?? 0;
    },
    async hoursWithReadings(from, to) {
      const { rows } = await pool.query(
        `SELECT DISTINCT (extract(epoch FROM date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '1970-01-01 00:00:00+00')) * 1000)::bigint AS h
           FROM readings WHERE time >= $1 AND time < $2 ORDER BY 1`,
        [from, to],
      );
      return rows.map((r) => Number(r.h));
    },
    async oldestReading() {
      // A scan of the table: run by backfill only.
      const { rows } = await pool.query('SELECT min(time) AS oldest FROM readings');
      return date(rows[0]?.oldest);
    },
    async exclusively(fn) {
      const client = await pool.connect();
      try {
        const { rows } = await client.query('SELECT pg_try_advisory_lock($1, $2) AS held', [...LOCK_KEYS]);
        if (!rows[0]?.held) return undefined;
        try {
          return await fn();
        } finally {
          await client.query('SELECT pg_advisory_unlock($1, $2)', [...LOCK_KEYS]).catch(() => undefined);
        }
      } finally {
        client.release();
      }
    },
  };
}
