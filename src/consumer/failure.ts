/**
 * Failure classification and back-off. A failure is either about the data (this row can never be
 * stored: send it to the DLQ and move on) or about the world (Postgres or Kafka away: wait and try
 * the same batch again, never skipping it). Pure; unit-tested.
 */

export type DatabaseFailure = 'unavailable' | 'data' | 'unknown';

/** Node socket errors that mean "the server is not reachable right now". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 * 08 connection exception, 53 insufficient resources, 57 operator intervention (admin shutdown,
 * cannot connect now), 58 system error, 40 transaction rollback (serialization, deadlock) are
 * about the server's state; 22 data exception and 23 integrity violation are about the row.
 * Anything else (42 undefined table, permission...) is an operator problem: it is retried too,
 * loudly, because sending every message to the DLQ for a missing table would lose nothing only
 * in theory.
 */
export function classifyDatabaseError(err: unknown): DatabaseFailure {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && NETWORK_CODES.has(code)) return 'unavailable';
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (cls === '22' || cls === '23') return 'data';
    if (['08', '53', '57', '58', '40'].includes(cls)) return 'unavailable';
    return 'unknown';
  }
  // pg reports a dropped or timed-out connection without a code.
  const message = typeof e?.message === 'string' ? e.message : '';
  if (
    /Connection terminated|connection timeout|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|ECONNREFUSED/i.test(
      message,
    )
  ) {
    return 'unavailable';
  }
  return 'unknown';
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/**
 * Exponential back-off with "equal jitter": half the step fixed, half random, so several workers
 * that lost the database together do not come back in lock step. `attempt` counts from 1.
 */
export function backoffMs(attempt: number, { initialMs, maxMs }: Backoff, random: () => number = Math.random): number {
  const step = Math.min(maxMs, initialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(step / 2 + (random() * step) / 2);
}
