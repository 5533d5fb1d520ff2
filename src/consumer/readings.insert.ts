/**
 * The batched write of readings: one INSERT of unnest()ed column arrays per batch, so a batch of
 * thousands of rows costs one round trip and one statement (one implicit transaction), and
 * `ON CONFLICT DO NOTHING` on the identity makes replays and duplicates harmless.
 *
 * The same statement consults the erasure ledger (db/migrations/005): a reading of a user erased
 * after the reading's message was appended to Kafka is not stored. Checked in the INSERT itself,
 * not against a copy of the ledger held by the worker, so there is no window between reading the
 * ledger and writing in which an erasure could slip through; the erasure takes a lock on readings
 * (src/timescale/erasure.service.ts) so that this statement either committed before its DELETE or
 * sees its ledger row.
 */
import type { QueryConfig, Queryable } from '../timescale/pool.js';
import { copyReadings, type ClientSource } from '../timescale/readings.copy.js';
import type { ValidReading } from '../domain/reading.js';
import { classifyDatabaseError } from '../timescale/pg.failure.js';

/**
 * $7 is the Kafka append timestamp of each reading's message (epoch ms), NULL when unknown: the
 * reading's own time stands in, which errs on the side of not storing erased data.
 */
export const INSERT_READINGS_SQL = `WITH x AS (
  SELECT u, m, t, v, d, e, a
  FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[], $7::float8[]) AS x(u, m, t, v, d, e, a)
), kept AS (
  SELECT * FROM x
  WHERE NOT EXISTS (
    SELECT 1 FROM erasures z WHERE z.user_id = x.u AND z.erased_at > to_timestamp(coalesce(x.a, x.t) / 1000::float8)
  )
), stored AS (
  INSERT INTO readings (user_id, metric, time, value, device_id, event_id)
  SELECT u, m, to_timestamp(t / 1000::float8), v, d, e FROM kept
  ON CONFLICT (user_id, metric, time) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM stored)::int AS inserted, ((SELECT count(*) FROM x) - (SELECT count(*) FROM kept))::int AS erased`;

const NEEDS_ESCAPE = /["\\]/;
const ESCAPES = /["\\]/g;

/**
 * A Postgres array literal of text, every element quoted (so "NULL" stays a string, and commas,
 * braces and spaces need no thought), null as the unquoted NULL. Built here rather than by pg's
 * generic array encoder, which inspected every element and was a fifth of the worker's CPU.
 */
export function textArrayLiteral(values: readonly (string | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === undefined) out += 'NULL';
    else out += `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPES, '\\$&') : v}"`;
  }
  return `${out}}`;
}

/** Finite numbers only (validation guarantees it); JS number text is valid float8 input. null is NULL. */
export function numberArrayLiteral(values: readonly (number | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (i > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : String(v);
  }
  return `${out}}`;
}

/**
 * The seven column arrays of INSERT_READINGS_SQL as array literals. Time travels as epoch
 * milliseconds in a float8: exact for every millisecond timestamp, and to_timestamp rounds to
 * microseconds, so the stored value is the millisecond sent. `appendedMs[i]` is reading i's Kafka
 * append time (null or absent: unknown).
 */
export function insertParams(
  readings: readonly ValidReading[],
  appendedMs: readonly (number | null)[] = [],
): [string, string, string, string, string, string, string] {
  const n = readings.length;
  const users = new Array<string>(n);
  const metrics = new Array<string>(n);
  const times = new Array<number>(n);
  const values = new Array<number>(n);
  const devices = new Array<string | undefined>(n);
  const events = new Array<string | undefined>(n);
  const appended = new Array<number | null>(n);
  for (let i = 0; i < n; i += 1) {
    const r = readings[i]!;
    users[i] = r.userId;
    metrics[i] = r.metric;
    times[i] = r.timeMs;
    values[i] = r.value;
    devices[i] = r.deviceId;
    events[i] = r.eventId;
    appended[i] = appendedMs[i] ?? null;
  }
  return [
    textArrayLiteral(users),
    textArrayLiteral(metrics),
    numberArrayLiteral(times),
    numberArrayLiteral(values),
    textArrayLiteral(devices),
    textArrayLiteral(events),
    numberArrayLiteral(appended),
  ];
}

export type { Queryable };

/**
 * A batch normally takes milliseconds. The client-side limit turns a connection that went silent
 * (half-open TCP, no reset) into an error the retry loop sees, instead of a wait without end;
 * pg then discards that connection.
 */
export const INSERT_TIMEOUT_MS = 30_000;

export interface InsertOutcome {
  /** New rows; the others were already stored or erased. */
  inserted: number;
  /** Readings not stored because their user was erased after their message was appended. */
  erased: number;
}

/** Inserts the readings that the erasure ledger lets through. */
export async function insertReadings(
  db: Queryable,
  readings: readonly ValidReading[],
  appendedMs: readonly (number | null)[] = [],
): Promise<InsertOutcome> {
  if (readings.length === 0) return { inserted: 0, erased: 0 };
  // query_timeout is a pg client option that @types/pg does not list on QueryConfig.
  const query = {
    text: INSERT_READINGS_SQL,
    values: insertParams(readings, appendedMs),
    query_timeout: INSERT_TIMEOUT_MS,
  } as QueryConfig;
  const res = await db.query<InsertOutcome>(query);
  const row = res.rows[0];
  return { inserted: row?.inserted ?? 0, erased: row?.erased ?? 0 };
}

export interface IsolatedInsert<T> {
  inserted: number;
  erased: number;
  /** Items the database refused on their own (a data error no validation foresaw). */
  refused: { item: T; error: Error }[];
}

/**
 * Inserts `items` with the ON CONFLICT statement; when the database refuses the batch for its data (not for being unavailable),
 * halves it until the refused rows are alone, so one bad row costs log2(n) extra statements and
 * never blocks the others. Errors other than data errors propagate to the caller's retry loop.
 */
export async function insertIsolatingRefusals<T>(
  db: Queryable,
  items: readonly T[],
  readingOf: (item: T) => ValidReading,
  appendedMsOf: (item: T) => number | null = () => null,
): Promise<IsolatedInsert<T>> {
  const out: IsolatedInsert<T> = { inserted: 0, erased: 0, refused: [] };
  const run = async (part: readonly T[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      const done = await insertReadings(db, part.map(readingOf), part.map(appendedMsOf));
      out.inserted += done.inserted;
      out.erased += done.erased;
    } catch (err) {
      if (classifyDatabaseError(err) !== 'data') throw err;
      if (part.length === 1) {
        out.refused.push({ item: part[0]!, error: err as Error });
        return;
      }
      const mid = part.length >> 1;
      await run(part.slice(0, mid));
      await run(part.slice(mid));
    }
  };
  await run(items);
  return out;
}

export interface BatchWrite<T> extends IsolatedInsert<T> {
  /**
   * 'copy': COPYed in one transaction (src/timescale/readings.copy.ts), every reading new.
   * 'insert': the COPY was refused (an identity already stored, or a row Postgres cannot hold)
   * and rolled back, and the ON CONFLICT statement wrote the batch instead.
   */
  path: 'copy' | 'insert';
}

/**
 * The worker's write of one batch. A batch of new readings, the usual case, is COPYed: a fraction
 * of the database's work per row of the INSERT statement. When COPY refuses it for its data, an
 * identity already stored (a replay after a crash or a rebalance, or a concurrent worker that
 * wrote the same identity first) or a row Postgres cannot hold, nothing of it was stored and the
 * ON CONFLICT statement writes it, counting duplicates and isolating refused rows. Errors about
 * the database being unavailable propagate to the caller's retry loop from either path.
 */
export async function writeReadings<T>(
  db: Queryable & ClientSource,
  items: readonly T[],
  readingOf: (item: T) => ValidReading,
  appendedMsOf: (item: T) => number | null = () => null,
): Promise<BatchWrite<T>> {
  if (items.length === 0) return { inserted: 0, erased: 0, refused: [], path: 'copy' };
  try {
    const done = await copyReadings(db, items.map(readingOf), items.map(appendedMsOf), INSERT_TIMEOUT_MS);
    return { ...done, refused: [], path: 'copy' };
  } catch (err) {
    if (classifyDatabaseError(err) !== 'data') throw err;
  }
  return { ...(await insertIsolatingRefusals(db, items, readingOf, appendedMsOf)), path: 'insert' };
}
