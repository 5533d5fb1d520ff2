/**
 * The batched write of readings: one INSERT of unnest()ed column arrays per batch, so a batch of
 * thousands of rows costs one round trip and one statement (one implicit transaction), and
 * `ON CONFLICT DO NOTHING` on the identity makes replays and duplicates harmless.
 */
import type pg from 'pg';
import type { ValidReading } from '../domain/reading.js';
import { classifyDatabaseError } from './database.errors.js';

/**
 * $7 are the rows' Kafka offsets, $8 and $9 the topic and partition they came from. A row of an
 * erased user sent before the erasure (its offset below the ledger's) is not inserted
 * (db/migrations/004_erasure_ledger.sql). The ledger is read by this same statement, after it
 * took its lock on readings: an erasure holds a lock that conflicts with it until its ledger row
 * and deletes commit, so a batch either finished before the erasure (and its rows were deleted by
 * it) or sees the ledger row.
 */
export const INSERT_READINGS_SQL = `INSERT INTO readings (user_id, metric, time, value, device_id, event_id)
SELECT u, m, to_timestamp(t / 1000::float8), v, d, e
FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[], $7::int8[]) AS x(u, m, t, v, d, e, o)
WHERE NOT EXISTS (
  SELECT 1 FROM erasure_ledger l
  WHERE l.user_id = x.u AND l.topic = $8 AND l.partition = $9 AND x.o < l.before_offset
)
ON CONFLICT (user_id, metric, time) DO NOTHING`;

/** Where a batch came from; without it (bulk loads that did not come through Kafka) the ledger never matches. */
export interface RowOrigin {
  topic: string;
  partition: number;
}

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

/** Finite numbers only (validation guarantees it); JS number text is valid float8 input. */
export function numberArrayLiteral(values: readonly number[]): string {
  return `{${values.join(',')}}`;
}

/**
 * The six column arrays of INSERT_READINGS_SQL as array literals. Time travels as epoch
 * milliseconds in a float8: exact for every millisecond timestamp, and to_timestamp rounds to
 * microseconds, so the stored value is the millisecond sent.
 */
export function insertParams(readings: readonly ValidReading[]): [string, string, string, string, string, string] {
  const n = readings.length;
  const users = new Array<string>(n);
  const metrics = new Array<string>(n);
  const times = new Array<number>(n);
  const values = new Array<number>(n);
  const devices = new Array<string | undefined>(n);
  const events = new Array<string | undefined>(n);
  for (let i = 0; i < n; i += 1) {
    const r = readings[i]!;
    users[i] = r.userId;
    metrics[i] = r.metric;
    times[i] = r.timeMs;
    values[i] = r.value;
    devices[i] = r.deviceId;
    events[i] = r.eventId;
  }
  return [
    textArrayLiteral(users),
    textArrayLiteral(metrics),
    numberArrayLiteral(times),
    numberArrayLiteral(values),
    textArrayLiteral(devices),
    textArrayLiteral(events),
  ];
}

export type Queryable = Pick<pg.Pool, 'query'>;

/**
 * A batch normally takes milliseconds. The client-side limit turns a connection that went silent
 * (half-open TCP, no reset) into an error the retry loop sees, instead of a wait without end;
 * pg then discards that connection.
 */
export const INSERT_TIMEOUT_MS = 30_000;

/**
 * Inserts the readings; returns how many were new (the rest were already stored, or erased).
 * `offsets` are the rows' Kafka offsets (decimal strings), one per reading, with `origin`.
 */
export async function insertReadings(
  db: Queryable,
  readings: readonly ValidReading[],
  offsets?: readonly string[],
  origin?: RowOrigin,
): Promise<number> {
  if (readings.length === 0) return 0;
  const o = offsets && origin ? `{${offsets.join(',')}}` : `{${readings.map(() => '0').join(',')}}`;
  // query_timeout is a pg client option that @types/pg does not list on QueryConfig.
  const query = {
    text: INSERT_READINGS_SQL,
    values: [...insertParams(readings), o, origin?.topic ?? '', origin?.partition ?? -1],
    query_timeout: INSERT_TIMEOUT_MS,
  } as pg.QueryConfig;
  const res = await db.query(query);
  return res.rowCount ?? 0;
}

export interface IsolatedInsert<T> {
  inserted: number;
  /** Items the database refused on their own (a data error no validation foresaw). */
  refused: { item: T; error: Error }[];
}

/**
 * Inserts `items`; when the database refuses the batch for its data (not for being unavailable),
 * halves it until the refused rows are alone, so one bad row costs log2(n) extra statements and
 * never blocks the others. Errors other than data errors propagate to the caller's retry loop.
 */
export async function insertIsolatingRefusals<T>(
  db: Queryable,
  items: readonly T[],
  readingOf: (item: T) => ValidReading,
  source?: { origin: RowOrigin; offsetOf: (item: T) => string },
): Promise<IsolatedInsert<T>> {
  const out: IsolatedInsert<T> = { inserted: 0, refused: [] };
  const run = async (part: readonly T[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      out.inserted += await insertReadings(
        db,
        part.map(readingOf),
        source ? part.map(source.offsetOf) : undefined,
        source?.origin,
      );
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
