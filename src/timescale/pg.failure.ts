/**
 * Postgres failures in the shared taxonomy (src/errors.ts, FailureKind): the one place that reads
 * SQLSTATEs and pg's code-less messages. The consumer decides DLQ or retry from it; the read paths
 * turn an unavailable database into DATABASE_UNAVAILABLE from it. Pure; unit-tested.
 */
import { AppError, ErrorCode, type FailureKind, networkErrorCode } from '../errors.js';

/** The SQLSTATE of a server error (five characters), or undefined for a client-side one. */
export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * pg reports a dropped, refused or timed-out connection without a code: "Connection terminated
 * unexpectedly", "timeout exceeded when trying to connect", "Query read timeout", "Client has
 * encountered a connection error and is not queryable".
 */
const CONNECTION_MESSAGE = /timeout|terminat|connection|not queryable|ECONNREFUSED/i;

/** SQLSTATE lock_not_available. */
export const LOCK_NOT_AVAILABLE = '55P03';

/** SQLSTATE classes about the server's state, not the statement: the same statement may pass later. */
const UNAVAILABLE_CLASSES = new Set(['08', '40', '53', '57', '58']);

/**
 * SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 * 08 connection exception, 53 insufficient resources, 57 operator intervention (admin shutdown,
 * cannot connect now, statement timeout), 58 system error, 40 transaction rollback (serialization,
 * deadlock) are about the server's state: unavailable. 22 data exception and 23 integrity
 * violation are about the row: data. 55P03 (lock not available: a lock_timeout ran out while an
 * erasure held the table) passes once the holder is done: unavailable. Anything else (42 undefined table, permission...) is an
 * operator problem: unknown, which the consumer retries loudly, because sending every message to
 * the DLQ for a missing table would lose nothing only in theory.
 */
export function classifyDatabaseError(err: unknown): FailureKind {
  if (networkErrorCode(err)) return 'unavailable';
  const state = sqlStateOf(err);
  if (state) {
    const cls = state.slice(0, 2);
    if (cls === '22' || cls === '23') return 'data';
    if (state === LOCK_NOT_AVAILABLE) return 'unavailable';
    return UNAVAILABLE_CLASSES.has(cls) ? 'unavailable' : 'unknown';
  }
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' && CONNECTION_MESSAGE.test(message) ? 'unavailable' : 'unknown';
}

/** Postgres's message for a time zone it does not know (SQLSTATE 22023, invalid_parameter_value). */
const UNKNOWN_ZONE = /time zone .* not recognized/i;

/**
 * A Postgres failure as a read path answers it: a database that cannot be reached becomes
 * DATABASE_UNAVAILABLE (retriable); other driver errors pass on unchanged and are masked by
 * formatError, so SQL and host names never reach a client.
 */
export function classifyDbError(err: unknown): unknown {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  // A zone Intl knows and this Postgres does not (its tz database is older): the client's input.
  if (sqlStateOf(err) === '22023' && typeof message === 'string' && UNKNOWN_ZONE.test(message)) {
    return new AppError(
      ErrorCode.INVALID_TIME_ZONE,
      'timeZone: this time zone is not known to the time-series database',
      {
        cause: err,
      },
    );
  }
  if (classifyDatabaseError(err) === 'unavailable') {
    return new AppError(ErrorCode.DATABASE_UNAVAILABLE, 'the time-series database is not reachable right now', {
      retriable: true,
      cause: err,
    });
  }
  return err;
}
