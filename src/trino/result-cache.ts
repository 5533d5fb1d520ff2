/**
 * Results of identical aggregate requests, shared:
 *  - a TTL cache: a dashboard polling the same question every second gets the stored answer
 *    until it is `ttlMs` old (counted from when the answer arrived);
 *  - single-flight: identical requests arriving while the first one runs wait for that one query
 *    instead of starting their own.
 *
 * Cancellation is per caller: a caller whose signal aborts stops waiting at once, and the shared
 * query is cancelled only when no caller is left waiting for it. Failures are never cached.
 */
import { TrinoError } from './trino.errors.js';
import { ErrorCode } from '../errors.js';

export interface ResultCacheOptions {
  /** How long an answer is served after it arrived; 0 turns caching off (single-flight stays). */
  ttlMs: number;
  /** Most answers kept; the oldest go first. Default 500. */
  maxEntries?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export interface ResultCacheStats {
  /** Answered from a stored answer. */
  hits: number;
  /** Started a query. */
  misses: number;
  /** Joined a query already running for the same key. */
  coalesced: number;
  /** Stored answers, expired ones included until they are swept. */
  size: number;
}

export interface ResultCache {
  /** The answer for `key`: stored, joined, or loaded by `load` (whose signal aborts when nobody waits). */
  get<T>(key: string, load: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * Drops every stored answer and returns how many there were. Queries running at the time still
   * answer their callers but are neither stored nor joined: they may have read data that was
   * deleted since (an erased user).
   */
  clear(): number;
  stats(): ResultCacheStats;
}

interface Flight {
  promise: Promise<unknown>;
  controller: AbortController;
  waiters: number;
}

const cancelled = (): TrinoError => new TrinoError(ErrorCode.TRINO_CANCELLED, 'The aggregate query was cancelled.');

export function createResultCache(options: ResultCacheOptions): ResultCache {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 500;
  const entries = new Map<string, { value: unknown; expiresAt: number }>();
  const flights = new Map<string, Flight>();
  const counts = { hits: 0, misses: 0, coalesced: 0 };
  // Bumped by clear(): a query launched in an earlier generation does not store its answer.
  let generation = 0;

  function store(key: string, value: unknown): void {
    if (options.ttlMs <= 0) return;
    entries.delete(key);
    entries.set(key, { value, expiresAt: now() + options.ttlMs });
    // Map keeps insertion order, so the first keys are the oldest answers.
    for (const [k, e] of entries) {
      if (entries.size <= maxEntries && e.expiresAt > now()) break;
      entries.delete(k);
    }
  }

  function launch(key: string, load: (signal: AbortSignal) => Promise<unknown>): Flight {
    const controller = new AbortController();
    const flight: Flight = { controller, waiters: 0, promise: Promise.resolve() };
    const launchedIn = generation;
    flight.promise = load(controller.signal)
      .then((value) => {
        if (!controller.signal.aborted && launchedIn === generation) store(key, value);
        return value;
      })
      .finally(() => {
        if (flights.get(key) === flight) flights.delete(key);
      });
    // Waiters that left do not listen any more; the rejection is theirs to ignore.
    flight.promise.catch(() => undefined);
    flights.set(key, flight);
    return flight;
  }

  function abandon(key: string, flight: Flight): void {
    // A request arriving from now on must start afresh, not join a query being cancelled.
    if (flights.get(key) === flight) flights.delete(key);
    flight.controller.abort();
  }

  function wait<T>(key: string, flight: Flight, signal: AbortSignal | undefined): Promise<T> {
    flight.waiters += 1;
    if (signal === undefined) return flight.promise as Promise<T>;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        flight.waiters -= 1;
        if (flight.waiters === 0) abandon(key, flight);
        reject(cancelled());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value as T);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  return {
    async get<T>(key: string, load: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) throw cancelled();
      const entry = entries.get(key);
      if (entry !== undefined) {
        if (entry.expiresAt > now()) {
          counts.hits += 1;
          return entry.value as T;
        }
        entries.delete(key);
      }
      let flight = flights.get(key);
      if (flight === undefined) {
        counts.misses += 1;
        flight = launch(key, load);
      } else {
        counts.coalesced += 1;
      }
      return wait<T>(key, flight, signal);
    },
    clear() {
      const dropped = entries.size;
      entries.clear();
      generation += 1;
      // Callers already waiting keep their flight; new callers start a query of their own.
      flights.clear();
      return dropped;
    },
    stats() {
      return { ...counts, size: entries.size };
    },
  };
}
