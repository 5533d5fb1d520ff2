/**
 * The consumer worker's bulk write: one batch of new readings COPYed straight into `readings` in
 * one transaction. COPY inserts many rows per heap operation and per WAL record, where
 * `INSERT ... SELECT ... ON CONFLICT DO NOTHING` takes a speculative insertion (a pre-check, a
 * token lock and a confirmation record) for every row. The statement-level triggers on `readings`
 * (the per-minute rollup, db/migrations/003, and the lake's dirty hours, 006) fire once for the
 * COPY with exactly the rows it inserted in their transition table, as for an INSERT.
 *
 * COPY has no ON CONFLICT: an identity already stored fails the whole COPY with a unique
 * violation (23505) and the transaction is rolled back, leaving nothing behind. The caller then
 * writes the batch with the ON CONFLICT statement (src/consumer/readings.insert.ts), which
 * counts the duplicates. That happens for a replayed batch (a worker killed before its commit,
 * a rebalance) and for identities repeated across batches, not for a batch of new readings.
 *
 * The erasure ledger (db/migrations/005) is read inside the transaction after `readings` is
 * locked in ROW EXCLUSIVE mode, the lock any INSERT takes. An erasure locks `readings` in SHARE ROW
 * EXCLUSIVE mode before it writes its ledger row and deletes (src/timescale/erasure.service.ts),
 * so it either committed before the lock was granted, and the ledger read (a later statement, a
 * later snapshot) sees it, or it waits for this commit and then deletes what was copied. A
 * reading of a user erased after its message was appended (its own time when the append time is
 * unknown) is left out of the COPY and counted as erased: the rule of the INSERT statement.
 */
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ValidReading } from '../domain/reading.js';
import { isoString } from '../domain/iso-time.js';
import { sqlStateOf } from './pg.failure.js';

export const COPY_READINGS_SQL = 'COPY readings (user_id, metric, time, value, device_id, event_id) FROM STDIN';

/** Per user of the batch: the latest erasure in the ledger, in microseconds since the epoch (exact). */
export const LATEST_ERASURES_SQL = `SELECT user_id, (extract(epoch FROM max(erased_at)) * 1000000)::bigint::text AS erased_us
FROM erasures WHERE user_id = ANY($1::text[]) GROUP BY user_id`;

export interface CopyOutcome {
  /** Rows COPY stored: every reading offered except the erased ones. */
  inserted: number;
  /** Readings left out because the erasure ledger names their user with a later erasure. */
  erased: number;
}

/** What the COPY path needs of the pool: a client for one transaction. */
export type ClientSource = Pick<pg.Pool, 'connect'>;

const NEEDS_COPY_ESCAPE = /[\\\t\n\r]/;
const COPY_ESCAPES = /[\\\t\n\r]/g;
const COPY_ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text field of COPY's text format: backslash, tab, newline and carriage return escaped; absent is \N. */
export function copyText(value: string | undefined): string {
  if (value === undefined) return '\\N';
  return NEEDS_COPY_ESCAPE.test(value) ? value.replace(COPY_ESCAPES, (c) => COPY_ESCAPED[c]!) : value;
}

/**
 * COPY text-format lines for `readings` (user_id, metric, time, value, device_id, event_id), in
 * chunks of about 64 KiB. Time is written as UTC with milliseconds, the precision stored; a value
 * as JavaScript number text, which float8 reads back exactly. `keep[i] === false` leaves reading i out.
 */
export function copyChunks(readings: readonly ValidReading[], keep?: readonly boolean[]): string[] {
  const chunks: string[] = [];
  let buf = '';
  for (let i = 0; i < readings.length; i += 1) {
    if (keep && !keep[i]) continue;
    const r = readings[i]!;
    buf += `${copyText(r.userId)}\t${copyText(r.metric)}\t${isoString(r.timeMs)}\t${String(r.value)}\t${copyText(r.deviceId)}\t${copyText(r.eventId)}\n`;
    if (buf.length >= 65_536) {
      chunks.push(buf);
      buf = '';
    }
  }
  if (buf.length > 0) chunks.push(buf);
  return chunks;
}

/**
 * Which readings the erasure ledger lets through: reading i is kept unless its user's latest
 * erasure is later than `appendedMs[i]` (or, when that is null, than the reading's own time).
 * `latestErasureUs`: user -> latest erasure in epoch microseconds. Pure.
 */
export function keptByLedger(
  readings: readonly ValidReading[],
  appendedMs: readonly (number | null)[],
  latestErasureUs: ReadonlyMap<string, number>,
): { keep: boolean[]; erased: number } {
  const keep = new Array<boolean>(readings.length);
  let erased = 0;
  for (let i = 0; i < readings.length; i += 1) {
    const r = readings[i]!;
    const erasedUs = latestErasureUs.get(r.userId);
    // Both sides whole microseconds: a millisecond instant is exactly ms * 1000 of them.
    const gone = erasedUs !== undefined && erasedUs > (appendedMs[i] ?? r.timeMs) * 1000;
    keep[i] = !gone;
    if (gone) erased += 1;
  }
  return { keep, erased };
}

/** A failure of the server about the statement (it has a SQLSTATE): the connection itself is fine. */
const isStatementError = (err: unknown): boolean => sqlStateOf(err) !== undefined;

/**
 * COPYs the readings the erasure ledger lets through into `readings`, in one transaction. Rejects
 * with the database's error when it refuses the batch (23505 when an identity is already stored; a
 * data error of class 22 for a value it cannot hold): nothing of the batch is then stored.
 * `timeoutMs` bounds the whole transaction on the client side, so a connection that went silent
 * becomes an error ('Query read timeout') and is discarded, not a wait without end.
 */
export async function copyReadings(
  pool: ClientSource,
  readings: readonly ValidReading[],
  appendedMs: readonly (number | null)[],
  timeoutMs: number,
): Promise<CopyOutcome> {
  if (readings.length === 0) return { inserted: 0, erased: 0 };
  const client = await pool.connect();
  let released = false;
  const release = (err?: Error) => {
    if (released) return;
    released = true;
    client.release(err);
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error('Query read timeout');
      // Discards the connection: whatever it was doing, the transaction dies with it.
      release(err);
      reject(err);
    }, timeoutMs);
  });
  const work = async (): Promise<CopyOutcome> => {
    await client.query('BEGIN; LOCK TABLE readings IN ROW EXCLUSIVE MODE');
    const users = [...new Set(readings.map((r) => r.userId))];
    const ledger = await client.query<{ user_id: string; erased_us: string }>(LATEST_ERASURES_SQL, [users]);
    const latest = new Map<string, number>();
    for (const row of ledger.rows) latest.set(row.user_id, Number(row.erased_us));
    const { keep, erased } = keptByLedger(readings, appendedMs, latest);
    const inserted =
      erased < readings.length ? await copyIn(client, copyChunks(readings, latest.size > 0 ? keep : undefined)) : 0;
    await client.query('COMMIT');
    return { inserted, erased };
  };
  const running = work();
  // After a timeout the work fails too (its connection is gone); that failure is already reported.
  running.catch(() => undefined);
  try {
    const outcome = await Promise.race([running, timedOut]);
    release();
    return outcome;
  } catch (err) {
    if (!released) {
      if (isStatementError(err)) {
        // The server refused a statement and the connection is sound: end the failed transaction.
        await client.query('ROLLBACK').then(
          () => release(),
          (e: unknown) => release(e as Error),
        );
      } else release(err as Error);
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Streams the chunks into one COPY and resolves with the rows stored. One chunk at a time, each
 * after the previous one reached the socket, and none after the server refused the COPY (it
 * answers at the first row it cannot take, while data may still be on its way): writing into a
 * COPY that already failed is what pg-copy-streams cannot do safely.
 */
async function copyIn(client: pg.PoolClient, chunks: readonly string[]): Promise<number> {
  const stream = client.query(copyFrom(COPY_READINGS_SQL));
  let failed = false;
  stream.once('error', () => {
    failed = true;
  });
  const ended = finished(stream);
  ended.catch(() => undefined);
  for (const chunk of chunks) {
    if (failed) break;
    // A write refused before COPY started (the statement itself failed) never calls back: `ended` rejects instead.
    await Promise.race([new Promise<void>((resolve) => stream.write(chunk, () => resolve())), ended]);
  }
  if (!failed) stream.end();
  await ended;
  return stream.rowCount;
}
