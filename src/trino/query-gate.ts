/**
 * A bound on the Trino queries one gateway runs at once. Each aggregate that misses the result
 * cache is a query in Trino (seconds of cluster time); without a bound, one request with 30
 * aliased `cohortStats` fields, or a burst of dashboards, starts as many queries as it asks for
 * and queues them inside Trino, where every other caller waits behind them. Here at most
 * `maxRunning` run, up to `maxQueued` more wait their turn in order, and the rest are refused at
 * once with TRINO_BUSY (retriable), which a client can back off from.
 */
import { TrinoError } from './trino.errors.js';
import { ErrorCode } from '../errors.js';

export interface QueryGateOptions {
  maxRunning: number;
  maxQueued: number;
}

export interface QueryGateStats {
  running: number;
  queued: number;
  /** Queries refused because the queue was full, since start. */
  refused: number;
}

export interface QueryGate {
  /** Runs `query` when a slot is free; a caller whose signal fires while queued leaves the queue. */
  run<T>(query: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  stats(): QueryGateStats;
}

export function createQueryGate(options: QueryGateOptions): QueryGate {
  let running = 0;
  let refused = 0;
  const waiting: Array<() => void> = [];

  /** Resolves when the caller holds a slot (handed over by a finishing query, so `running` is unchanged). */
  const acquire = (signal: AbortSignal | undefined): Promise<void> | undefined => {
    if (running < options.maxRunning) {
      running += 1;
      return undefined;
    }
    if (waiting.length >= options.maxQueued) {
      refused += 1;
      throw new TrinoError(
        ErrorCode.TRINO_BUSY,
        'The analytics engine is busy with other queries of this gateway; retry shortly.',
        { retriable: true, detail: `${running} running, ${waiting.length} queued` },
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = waiting.indexOf(turn);
        if (i >= 0) waiting.splice(i, 1);
        reject(new TrinoError(ErrorCode.TRINO_CANCELLED, 'The request was cancelled while it waited for Trino.'));
      };
      const turn = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      waiting.push(turn);
    });
  };

  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };

  return {
    async run(query, signal) {
      const queued = acquire(signal);
      if (queued) await queued;
      try {
        return await query();
      } finally {
        release();
      }
    },
    stats: () => ({ running, queued: waiting.length, refused }),
  };
}
