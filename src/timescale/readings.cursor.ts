/**
 * Opaque cursors for `readings`. Within one (user, metric) the time is the identity of a reading
 * (docs/contracts.md), so a cursor only needs the time of the last reading returned. It is kept in whole
 * microseconds, Postgres's own precision, so a row stored with sub-millisecond time is never
 * skipped or repeated. Clients must treat the string as opaque; the `r1:` tag lets the format change.
 */
import { AppError, ErrorCode } from '../errors.js';

const FORMAT = /^r1:(-?\d{1,17})$/;

/** `micros` as Postgres prints `extract(epoch from time) * 1e6` cast to bigint text. */
export function encodeCursor(micros: string): string {
  return Buffer.from(`r1:${micros}`, 'utf8').toString('base64url');
}

/** Returns the microseconds since the epoch as a decimal string (bound as bigint). */
export function decodeCursor(cursor: string): string {
  const invalid = () =>
    new AppError(ErrorCode.INVALID_CURSOR, 'after: expected an endCursor returned by an earlier readings page');
  if (cursor.length > 64 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  const m = FORMAT.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m?.[1]) throw invalid();
  return m[1];
}
