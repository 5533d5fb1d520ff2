/**
 * The worker's back-off. Whether a failure is about the data (this row can never be stored: send
 * it to the DLQ and move on) or about the world (Postgres or Kafka away: wait and try the same
 * batch again, never skipping it) is the shared taxonomy's (FailureKind in src/errors.ts), as
 * each adapter classifies its driver's errors. Pure; unit-tested.
 */

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
