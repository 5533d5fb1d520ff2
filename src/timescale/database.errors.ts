/**
 * The one reading of a Postgres failure, for the readers (series, readings) and the consumer
 * worker alike: is it the server's state (retry later), the row's data (never storable), or
 * something an operator must look at.
 */
import { AppError, ErrorCode, isNetworkError } from '../errors.js';

export type DatabaseFailure = 'unavailable' | 'data' | 'unknown';

/** pg reports a dropped or timed-out connection without a code; these are its words for it. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connection timeout|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|ECONNREFUSED|terminating connection/i;

/**
 * SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 * 08 connection exception, 53 insufficient resources, 57 operator intervention (admin shutdown,
 * cannot connect now, statement timeout), 58 system error, 40 transaction rollback (serialization,
 * deadlock) are about the server's state; 22 data exception and 23 integrity violation are about
 * the row. Anything else (42 undefined table, permission...) is an operator problem: the worker
 * retries it too, loudly, because sending every message to the DLQ for a missing table would lose
 * nothing only in theory; a reader masks it.
 */
export function classifyDatabaseError(err: unknown): DatabaseFailure {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (isNetworkError(err)) return 'unavailable';
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (cls === '22' || cls === '23') return 'data';
    if (['08', '53', '57', '58', '40'].includes(cls)) return 'unavailable';
    return 'unknown';
  }
  const message = typeof e?.message === 'string' ? e.message : '';
  return UNAVAILABLE_MESSAGE.test(message) ? 'unavailable' : 'unknown';
}

/**
 * For a reader: a database that cannot be reached becomes DATABASE_UNAVAILABLE (retriable); other
 * driver errors pass on unchanged and are masked by the error normaliser, so SQL and host names
 * never reach a client.
 */
export function readerDatabaseError(err: unknown): unknown {
  const e = err as { code?: unknown; message?: unknown } | null;
  // A zone name this process accepted but the database's own zone data does not know.
  if (e?.code === '22023' && typeof e.message === 'string' && /time zone/i.test(e.message)) {
    return new AppError(ErrorCode.INVALID_TIME_ZONE, 'timeZone: the database does not know this time zone', {
      cause: err,
    });
  }
  if (err instanceof AppError || classifyDatabaseError(err) !== 'unavailable') return err;
  return new AppError(ErrorCode.DATABASE_UNAVAILABLE, 'the time-series database is not reachable right now', {
    retriable: true,
    cause: err,
  });
}
