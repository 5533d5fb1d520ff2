/**
 * The time-series store's part of erasing a user (src/privacy): the erasure ledger, the readings
 * and the per-minute rollup, in one transaction.
 *
 * The transaction first takes SHARE ROW EXCLUSIVE on readings, which waits for the worker's
 * INSERTs in flight and holds new ones until it commits. So a batch that was already writing has
 * committed before the user's readings are deleted (and they are deleted with the rest), and a
 * batch that comes after sees the ledger row in its own statement and skips the user's older
 * messages (src/timescale/readings.insert.ts). Erasures are rare and writers wait only for the
 * length of one user's delete.
 *
 * The rollup cannot subtract one user's readings from shared rows, but its rows are per user:
 * deleting the readings makes the rollup's delete trigger recompute the minutes they touched
 * (db/migrations/003), which leaves none of the user's rows. The count of those rows is taken
 * first, for the answer. With TimescaleDB the rollup is a continuous aggregate, refreshed from
 * the deleted readings' invalidations by its policy.
 */
import type pg from 'pg';
import type { StoreErasure } from '../domain/erasure.js';
import { readerDatabaseError } from './database.errors.js';

export interface LedgerEntry {
  topic: string;
  partition: number;
  /** Messages of the user below this offset were sent before the erasure. */
  beforeOffset: number;
}

export async function eraseFromTimescale(
  pool: pg.Pool,
  userId: string,
  ledger: readonly LedgerEntry[],
): Promise<StoreErasure[]> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw readerDatabaseError(err);
  }
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE readings IN SHARE ROW EXCLUSIVE MODE');
    await client.query(
      `INSERT INTO erasure_ledger (user_id, topic, partition, before_offset)
       SELECT $1, t, p, o FROM unnest($2::text[], $3::int[], $4::int8[]) AS x(t, p, o)
       ON CONFLICT (user_id, topic, partition) DO UPDATE
         SET before_offset = greatest(erasure_ledger.before_offset, EXCLUDED.before_offset), erased_at = now()`,
      [userId, ledger.map((l) => l.topic), ledger.map((l) => l.partition), ledger.map((l) => l.beforeOffset)],
    );
    const minutes = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM readings_minute WHERE user_id = $1',
      [userId],
    );
    const readings = await client.query('DELETE FROM readings WHERE user_id = $1', [userId]);
    await client.query('COMMIT');
    return [
      { store: 'readings', removed: readings.rowCount ?? 0 },
      { store: 'readings_minute', removed: minutes.rows[0]?.n ?? 0, detail: 'per-minute rollup rows recomputed away' },
      {
        store: 'erasure_ledger',
        removed: 0,
        detail: `recorded ${ledger.length} partition offsets; older messages of the user are never stored again`,
      },
    ];
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw readerDatabaseError(err);
  } finally {
    client.release();
  }
}

/** Keeps the answer of an erasure (who asked, what was removed where). */
export async function recordErasure(
  pool: pg.Pool,
  userId: string,
  requestedBy: string,
  stores: readonly StoreErasure[],
): Promise<Date> {
  try {
    const { rows } = await pool.query<{ erased_at: Date }>(
      'INSERT INTO erasures (user_id, requested_by, removed) VALUES ($1, $2, $3) RETURNING erased_at',
      [userId, requestedBy, JSON.stringify(stores)],
    );
    return rows[0]!.erased_at;
  } catch (err) {
    throw readerDatabaseError(err);
  }
}
