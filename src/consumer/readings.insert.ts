/**
 * The batched write of readings: one INSERT of unnest()ed column arrays per batch, so a batch of
 * thousands of rows costs one round trip and one statement (one implicit transaction), and
 * `ON CONFLICT DO NOTHING` on the identity makes replays and duplicates harmless.
 */
import type pg from 'pg';
import type { ValidReading } from '../domain/reading.js';
import { classifyDatabaseError } from './failure.js';

export const INSERT_READINGS_SQL = `INSERT INTO readings (user_id, metric, time, value, device_id, event_id)
SELECT u, m, to_timestamp(t / 1000::float8), v, d, e
FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[]) AS x(u, m, t, v, d, e)
ON CONFLICT (user_id, metric, time) DO NOTHING`;

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

/** Inserts the readings; returns how many were new (the rest were already stored). */
export async function insertReadings(db: Queryable, readings: readonly ValidReading[]): Promise<number> {
  if (readings.length === 0) return 0;
  // query_timeout is a pg client option that @types/pg does not list on QueryConfig.
  const query = {
    text: INSERT_READINGS_SQL,
    values: insertParams(readings),
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
): Promise<IsolatedInsert<T>> {
  const out: IsolatedInsert<T> = { inserted: 0, refused: [] };
  const run = async (part: readonly T[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      out.inserted += await insertReadings(db, part.map(readingOf));
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
