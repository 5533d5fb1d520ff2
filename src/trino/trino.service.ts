/**
 * The cross-user aggregates behind `cohortStats` and `leaderboard`, computed by Trino over the
 * `timescale` catalog, plus a `ping` for health.
 *
 * Lifecycle: nothing to connect (each query is its own HTTP exchange), so `start` only marks the
 * service as serving and never waits for Trino: the gateway must come up while Trino is down,
 * and the Trino fields then fail with TRINO_UNAVAILABLE. `stop` cancels every running query in
 * Trino, drops the cache, and makes later calls fail with TRINO_UNAVAILABLE.
 */
import type { Config } from '../config.js';
import type { BucketName } from '../domain/metrics.js';
import type { Logger } from '../logger.js';
import {
  cohortGrid,
  validateCohortStatsRequest,
  validateLeaderboardRequest,
  type AggregateLimits,
  type CohortStatsRequest,
  type LeaderboardRequest,
} from './aggregate.request.js';
import { cohortStatsStatement, parseCohortStatsRows, type CohortPoint } from './cohort.query.js';
import { leaderboardStatement, parseLeaderboardRows, type LeaderboardEntry } from './leaderboard.query.js';
import { cohortSplit, lakeCohortStatement, lakeLeaderboardStatement, leaderboardSplit } from './lake.query.js';
import type { LakeView } from './lake.plan.js';
import type { LakeTables } from './lake.sql.js';
import type { PreparedStatement } from './prepared-statement.js';
import { createResultCache, type ResultCacheStats } from './result-cache.js';
import { createTrinoRunner } from './trino.client.js';
import { createQueryGate, type QueryGateStats } from './query-gate.js';
import { TrinoError } from './trino.errors.js';
import { ErrorCode } from '../errors.js';

export type { CohortPoint } from './cohort.query.js';
export type { LeaderboardEntry } from './leaderboard.query.js';

export interface TrinoServiceOptions {
  config: Pick<Config, 'trino' | 'postgres'>;
  logger?: Logger;
  /** X-Trino-Source of every query (find them in system.runtime.queries). Default 'fitbit-gateway'. */
  source?: string;
  /** Largest leaderboard limit. Default 1000. */
  maxLeaderboardLimit?: number;
  /** Observer of every query run in Trino (cache misses and pings): statement, wall time, 'ok' or the error code. */
  onQuery?: (statement: string, elapsedMs: number, outcome: string) => void;
  /**
   * The lakehouse tier (docs/lake.md): the closed, tiered part of a range is read from the lake's
   * rollups, the rest from the hot store. Without it every aggregate reads the hot store.
   */
  lake?: {
    tables: LakeTables;
    /** The ledger's view for [from, to): read after the query gate admits the query, just before it runs. */
    view(from: Date, to: Date): Promise<LakeView>;
  };
}

export interface CallOptions {
  /** The client went away: stop waiting, and cancel the query if nobody else waits for it. */
  signal?: AbortSignal;
}

export interface TrinoPing {
  latencyMs: number;
  queryId: string | undefined;
}

export interface TrinoServiceStats extends ResultCacheStats {
  /** Queries this service submitted to Trino (pings included). */
  trinoQueries: number;
  /** Aggregate queries running, waiting for a slot, and refused with TRINO_BUSY (query-gate.ts). */
  gate: QueryGateStats;
}

/**
 * The service's lifecycle: while it serves, it holds the controller stop() aborts, which every
 * running query hears through its combined signal; once stopped, it holds nothing.
 */
type ServiceState = { phase: 'created' | 'started'; lifetime: AbortController } | { phase: 'stopped' };

export type TrinoServicePhase = ServiceState['phase'];

export interface TrinoService {
  readonly phase: TrinoServicePhase;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Per bucket (labelled by its start; HOUR and DAY local to `options.timeZone`, UTC by default),
   * across all users; empty buckets omitted.
   */
  cohortStats(
    metric: string,
    from: Date,
    to: Date,
    bucket: BucketName,
    options?: CallOptions & { timeZone?: string | null },
  ): Promise<readonly CohortPoint[]>;
  /** Users ranked by sum (count-like metrics) or average (the others) over [from, to). */
  leaderboard(
    metric: string,
    from: Date,
    to: Date,
    limit?: number,
    options?: CallOptions,
  ): Promise<readonly LeaderboardEntry[]>;
  /**
   * Drops the cached aggregate answers of this process (after an erasure: they may count the
   * erased user); returns how many were dropped. Other gateway processes' caches expire on their own
   * within TRINO_CACHE_TTL_MS.
   */
  clearCache(): number;
  /** A real `SELECT 1` through Trino, uncached, bounded by a short timeout. */
  ping(options?: CallOptions & { timeoutMs?: number }): Promise<TrinoPing>;
  stats(): TrinoServiceStats;
}

const PING_TIMEOUT_MS = 5_000;

export function createTrinoService(options: TrinoServiceOptions): TrinoService {
  const { config } = options;
  const logger = options.logger?.child({ component: 'trino' });
  const limits: AggregateLimits = {
    maxRangeDays: config.postgres.rangeMaxDays,
    maxBuckets: config.postgres.seriesMaxPoints,
    maxLeaderboardLimit: options.maxLeaderboardLimit ?? 1000,
  };
  const runner = createTrinoRunner({
    server: config.trino.server,
    user: config.trino.user,
    catalog: config.trino.catalog,
    schema: config.trino.schema,
    source: options.source ?? 'fitbit-gateway',
    timeoutMs: config.trino.queryTimeoutMs,
    logger,
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
  });
  const cache = createResultCache({ ttlMs: config.trino.cacheTtlMs });
  const gate = createQueryGate({
    maxRunning: config.trino.maxConcurrentQueries,
    maxQueued: config.trino.maxQueuedQueries,
  });
  let state: ServiceState = { phase: 'created', lifetime: new AbortController() };

  /** The serving state's lifetime signal; refuses once the service is stopped. */
  function servingLifetime(): AbortSignal {
    if (state.phase === 'stopped') {
      throw new TrinoError(ErrorCode.TRINO_UNAVAILABLE, 'The analytics engine (Trino) is not available.', {
        retriable: true,
        detail: 'the Trino service has been stopped',
      });
    }
    return state.lifetime.signal;
  }

  const cohortKey = (r: CohortStatsRequest): string =>
    `cohort|${r.metric}|${r.from.getTime()}|${r.to.getTime()}|${r.bucket}|${r.timeZone}`;
  const leaderboardKey = (r: LeaderboardRequest): string =>
    `leaderboard|${r.metric}|${r.from.getTime()}|${r.to.getTime()}|${r.limit}`;

  const { lake } = options;

  /**
   * The lake is an accelerator, the hot store the truth: when the ledger cannot be read, the
   * hot-only statement answers (slower, same figures).
   */
  async function lakeView(from: Date, to: Date): Promise<LakeView | undefined> {
    if (!lake) return undefined;
    try {
      return await lake.view(from, to);
    } catch (err) {
      logger?.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'lake ledger unreadable; reading the hot store only',
      );
      return undefined;
    }
  }

  /** The hot-only statement, or the federated one when part of the range is tiered. */
  async function cohortStatement(request: CohortStatsRequest): Promise<PreparedStatement> {
    const view = await lakeView(request.from, request.to);
    if (!lake || !view) return cohortStatsStatement(request);
    const split = cohortSplit(request, view);
    return split.lake.length === 0 ? cohortStatsStatement(request) : lakeCohortStatement(request, split, lake.tables);
  }

  async function leaderboardStatementFor(request: LeaderboardRequest): Promise<PreparedStatement> {
    const view = await lakeView(request.from, request.to);
    if (!lake || !view) return leaderboardStatement(request);
    const split = leaderboardSplit(request, view);
    return split.lake.length === 0
      ? leaderboardStatement(request)
      : lakeLeaderboardStatement(request, split, lake.tables);
  }

  /**
   * Runs the statement; a federated one that fails in the lake (object store or catalog down:
   * Trino's ICEBERG_* errors) is answered by the hot-only statement instead.
   */
  async function runWithFallback(
    statement: PreparedStatement,
    hotOnly: () => PreparedStatement,
    signal: AbortSignal,
  ): Promise<{ statement: PreparedStatement; outcome: Awaited<ReturnType<typeof runner.run>> }> {
    try {
      return { statement, outcome: await runner.run(statement, { signal }) };
    } catch (err) {
      const lakeFailed =
        err instanceof TrinoError &&
        statement.name.endsWith('_lake') &&
        (err.trinoErrorName ?? '').startsWith('ICEBERG');
      if (!lakeFailed) throw err;
      logger?.warn({ code: err.trinoErrorName, detail: err.detail }, 'lake unreadable; answering from the hot store');
      const fallback = hotOnly();
      return { statement: fallback, outcome: await runner.run(fallback, { signal }) };
    }
  }

  return {
    get phase() {
      return state.phase;
    },
    async start() {
      state = { phase: 'started', lifetime: state.phase === 'stopped' ? new AbortController() : state.lifetime };
    },
    async stop() {
      if (state.phase === 'stopped') return;
      const { lifetime } = state;
      state = { phase: 'stopped' };
      lifetime.abort();
      cache.clear();
    },
    async cohortStats(metric, from, to, bucket, callOptions = {}) {
      const lifetime = servingLifetime();
      const request = validateCohortStatsRequest({ metric, from, to, bucket, timeZone: callOptions.timeZone }, limits);
      return cache.get(
        cohortKey(request),
        async (signal) => {
          const { outcome } = await gate.run(
            async () =>
              runWithFallback(
                await cohortStatement(request),
                () => cohortStatsStatement(request),
                AbortSignal.any([signal, lifetime]),
              ),
            signal,
          );
          const local = cohortGrid(request.bucket, request.timeZone).kind === 'local';
          // Frozen: one answer is handed to every caller of the same key until it expires.
          return Object.freeze(parseCohortStatsRows(outcome.rows, request.bucket, local).map((p) => Object.freeze(p)));
        },
        callOptions.signal,
      );
    },
    async leaderboard(metric, from, to, limit, callOptions = {}) {
      const lifetime = servingLifetime();
      const request = validateLeaderboardRequest({ metric, from, to, limit }, limits);
      return cache.get(
        leaderboardKey(request),
        async (signal) => {
          const { statement, outcome } = await gate.run(
            async () =>
              runWithFallback(
                await leaderboardStatementFor(request),
                () => leaderboardStatement(request),
                AbortSignal.any([signal, lifetime]),
              ),
            signal,
          );
          return Object.freeze(parseLeaderboardRows(outcome.rows, statement.name).map((e) => Object.freeze(e)));
        },
        callOptions.signal,
      );
    },
    clearCache() {
      return cache.clear();
    },
    async ping(callOptions = {}) {
      const lifetime = servingLifetime();
      const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, lifetime]) : lifetime;
      const outcome = await runner.run('SELECT 1', {
        signal,
        timeoutMs: Math.min(callOptions.timeoutMs ?? PING_TIMEOUT_MS, config.trino.queryTimeoutMs),
      });
      return { latencyMs: outcome.elapsedMs, queryId: outcome.queryId };
    },
    stats() {
      return { ...cache.stats(), trinoQueries: runner.submitted, gate: gate.stats() };
    },
  };
}
