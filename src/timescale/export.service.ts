/**
 * A user's readings as NDJSON: one reading v1 object per line, oldest first (then by metric),
 * streamed from Postgres to the HTTP response with `COPY ... TO STDOUT` (pg-copy-streams).
 *
 * Constant memory whatever the size: the lines are built by Postgres (json_build_object), COPY
 * hands them over in chunks as they are produced, and `pipeline` stops reading from the
 * connection while the client's socket is full, so the gateway holds a few chunks at a time.
 * Postgres sorts a large export on disk (work_mem), not in the gateway.
 *
 * COPY takes no bind parameters. The statement holds only values that passed validation: a user
 * id of the wire format's alphabet and two instants, each quoted by pg's escapeLiteral. The CSV
 * format with quote and delimiter bytes that JSON text never contains (it escapes every control
 * character) passes each line through byte for byte; the text format would double backslashes.
 */
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Config } from '../config.js';
import { AppError, ErrorCode } from '../errors.js';
import { checkUserId } from './series.range.js';
import { readerDatabaseError } from './database.errors.js';

export interface ExportRange {
  /** Inclusive; default: the beginning. */
  from?: Date | undefined;
  /** Exclusive; default: no end. */
  to?: Date | undefined;
}

export interface ExportService {
  /** Checks the arguments without touching the database (INVALID_USER_ID, INVALID_RANGE). */
  check(userId: string, range: ExportRange): void;
  /**
   * Writes the user's readings to `out` as NDJSON and ends it; resolves with the bytes written.
   * Rejects if the database fails or `out` closes early (the COPY is then abandoned and its
   * connection discarded).
   */
  exportReadings(userId: string, range: ExportRange, out: Writable): Promise<number>;
}

const TIME_TEXT = `to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export function exportSql(client: Pick<pg.ClientBase, 'escapeLiteral'>, userId: string, range: ExportRange): string {
  const where = [`user_id = ${client.escapeLiteral(userId)}`];
  if (range.from) where.push(`time >= ${client.escapeLiteral(range.from.toISOString())}::timestamptz`);
  if (range.to) where.push(`time < ${client.escapeLiteral(range.to.toISOString())}::timestamptz`);
  return `COPY (
  SELECT json_strip_nulls(json_build_object(
    'eventId', event_id, 'userId', user_id, 'metric', metric, 'time', ${TIME_TEXT}, 'value', value, 'deviceId', device_id))
  FROM readings
  WHERE ${where.join(' AND ')}
  ORDER BY time, metric
) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`;
}

export function createExportService(pool: pg.Pool, _config: Pick<Config, 'postgres'>): ExportService {
  function check(userId: string, range: ExportRange): void {
    checkUserId(userId);
    for (const [name, d] of [
      ['from', range.from],
      ['to', range.to],
    ] as const) {
      if (d !== undefined && !Number.isFinite(d.getTime())) {
        throw new AppError(ErrorCode.INVALID_RANGE, `${name}: expected an RFC 3339 date-time`);
      }
    }
    if (range.from && range.to && range.from.getTime() >= range.to.getTime()) {
      throw new AppError(ErrorCode.INVALID_RANGE, 'expected from before to');
    }
  }

  return {
    check,
    async exportReadings(userId, range, out) {
      check(userId, range);
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw readerDatabaseError(err);
      }
      let broken: Error | undefined;
      try {
        // No JIT for a plain ordered scan: it would only add compile time.
        await client.query('SET jit = off');
        const source = client.query(copyTo(exportSql(client, userId, range)));
        let bytes = 0;
        source.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        await pipeline(source, out);
        return bytes;
      } catch (err) {
        // A COPY left half-read keeps its connection busy: it must not go back to the pool.
        broken = err instanceof Error ? err : new Error(String(err));
        throw readerDatabaseError(err);
      } finally {
        client.release(broken);
      }
    },
  };
}
