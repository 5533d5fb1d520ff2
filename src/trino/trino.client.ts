/**
 * The adapter to Trino (trino-client 0.2.x): runs one statement to completion and returns its
 * rows, or fails with a TrinoError. What it adds to trino-client:
 *  - failures reported on a result page (trino-client does not throw for them) become errors;
 *  - a timeout and an AbortSignal, both of which cancel the query in Trino, not just the wait;
 *  - `query_max_run_time` on the session, so Trino stops the query itself if the cancel never
 *    arrives (the gateway crashed, the network dropped);
 *  - a fresh trino-client per query: its client keeps mutable session state (catalog, session
 *    properties, prepared statements) updated from every answer, which concurrent queries must
 *    not share. Creating one is cheap: no connection is opened, HTTP keep-alive is Node's.
 */
import { BasicAuth, Trino, type Columns, type Query, type QueryResult } from 'trino-client';
import type { Logger } from '../logger.js';
import { executeSql, preparedStatementHeader, type PreparedStatement } from './prepared-statement.js';
import { fromPageError, fromTransportError, TrinoError } from './trino.errors.js';
import { ErrorCode } from '../errors.js';

export interface TrinoRunnerOptions {
  /** e.g. http://127.0.0.1:8080 */
  server: string;
  user: string;
  catalog: string;
  schema: string;
  /** X-Trino-Source: how this process's queries are told apart in system.runtime.queries. */
  source: string;
  /** Timeout of a query unless the call gives one. */
  timeoutMs: number;
  logger?: Logger;
  /** Observer of every finished query: statement name, wall time, 'ok' or the TrinoError code (metrics hook). */
  onQuery?: (statement: string, elapsedMs: number, outcome: string) => void;
}

export interface RunOptions {
  /** Aborting cancels the query in Trino and rejects with TRINO_CANCELLED. */
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface QueryOutcome {
  queryId: string | undefined;
  columns: Columns;
  rows: unknown[][];
  elapsedMs: number;
}

export interface TrinoRunner {
  /**
   * Runs a prepared statement (values rendered as checked literals), or a constant SQL text of
   * the code base. Never pass text built from user input.
   */
  run(statement: PreparedStatement | string, options?: RunOptions): Promise<QueryOutcome>;
  /** Queries submitted to Trino by this runner since it was made. */
  readonly submitted: number;
}

/**
 * trino-client keeps the first answer (the one that carries the query id) inside its iterator,
 * and only hands out pages that hold rows or end the query. Peeking at it lets a cancel reach a
 * query that has not produced a row yet; if a later trino-client changes the shape, this returns
 * undefined and the id is taken from the first page instead.
 */
function submittedQueryId(iterator: unknown): string | undefined {
  const id = (iterator as { iter?: { queryResult?: { id?: unknown } } } | undefined)?.iter?.queryResult?.id;
  return typeof id === 'string' ? id : undefined;
}

/** Trino's Duration syntax; a few seconds above ours so that our cancel normally comes first. */
function serverRunTimeLimit(timeoutMs: number): string {
  return `${Math.ceil(timeoutMs / 1000) + 5}s`;
}

export function createTrinoRunner(options: TrinoRunnerOptions): TrinoRunner {
  let submitted = 0;
  const log = options.logger;

  async function run(statement: PreparedStatement | string, runOptions: RunOptions = {}): Promise<QueryOutcome> {
    const { signal } = runOptions;
    const timeoutMs = runOptions.timeoutMs ?? options.timeoutMs;
    const name = typeof statement === 'string' ? 'adhoc' : statement.name;
    if (signal?.aborted) throw new TrinoError(ErrorCode.TRINO_CANCELLED, 'The aggregate query was cancelled.');

    // Rendering happens before anything is sent: a value that fails its check never leaves.
    const query: Query =
      typeof statement === 'string'
        ? { query: statement }
        : {
            query: executeSql(statement),
            extraHeaders: { 'X-Trino-Prepared-Statement': preparedStatementHeader(statement) },
          };
    const client = Trino.create({
      server: options.server,
      catalog: options.catalog,
      schema: options.schema,
      source: options.source,
      auth: new BasicAuth(options.user),
      session: { query_max_run_time: serverRunTimeLimit(timeoutMs) },
    });

    const started = performance.now();
    let queryId: string | undefined;
    let settled = false;
    let stopReason: TrinoError | undefined;
    let rejectStopped: (reason: TrinoError) => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => {
      rejectStopped = reject;
    });

    const cancelInTrino = (): void => {
      if (queryId === undefined || settled) return;
      const id = queryId;
      client.cancel(id).then(
        () => log?.debug({ queryId: id, statement: name }, 'trino query cancelled'),
        (err: unknown) => log?.warn({ queryId: id, statement: name, err: String(err) }, 'could not cancel trino query'),
      );
    };
    const stop = (reason: TrinoError): void => {
      if (stopReason !== undefined || settled) return;
      stopReason = reason;
      cancelInTrino();
      rejectStopped(reason);
    };
    const timer = setTimeout(
      () =>
        stop(
          new TrinoError(
            ErrorCode.TRINO_TIMEOUT,
            `The aggregate query took longer than ${timeoutMs} ms and was stopped.`,
            { retriable: true, queryId },
          ),
        ),
      timeoutMs,
    );
    const onAbort = (): void =>
      stop(new TrinoError(ErrorCode.TRINO_CANCELLED, 'The aggregate query was cancelled.', { queryId }));
    signal?.addEventListener('abort', onAbort, { once: true });

    const work = (async (): Promise<QueryOutcome> => {
      submitted += 1;
      try {
        return await drain();
      } finally {
        // The query is over in Trino (finished, failed, or cancelled by us): nothing to cancel.
        settled = true;
      }
    })();

    async function drain(): Promise<QueryOutcome> {
      let iterator;
      try {
        iterator = await client.query(query);
      } catch (err) {
        throw fromTransportError(err, undefined);
      }
      queryId = submittedQueryId(iterator);
      // Stopped while the query was being submitted: now that its id is known, cancel it.
      if (stopReason !== undefined) {
        cancelInTrino();
        throw stopReason;
      }
      let columns: Columns = [];
      const rows: unknown[][] = [];
      for (;;) {
        let step: IteratorResult<QueryResult>;
        try {
          step = await iterator.next();
        } catch (err) {
          throw fromTransportError(err, queryId);
        }
        const page = step.value as QueryResult | undefined;
        if (page?.id) queryId ??= page.id;
        if (stopReason !== undefined) {
          cancelInTrino();
          throw stopReason;
        }
        // A query rejected on submission ends without a page of its own: its error is on the
        // answer the iterator returns as done.
        if (page?.error) throw fromPageError(page.error, page.id ?? queryId);
        if (step.done) break;
        if (page?.columns) columns = page.columns;
        // A loop, not push(...data): a large page would overflow the argument limit.
        for (const row of (page?.data ?? []) as unknown[][]) rows.push(row);
      }
      return { queryId, columns, rows, elapsedMs: performance.now() - started };
    }

    try {
      const outcome = await Promise.race([work, stopped]);
      log?.debug(
        { queryId: outcome.queryId, statement: name, rows: outcome.rows.length, ms: Math.round(outcome.elapsedMs) },
        'trino query',
      );
      options.onQuery?.(name, outcome.elapsedMs, 'ok');
      return outcome;
    } catch (err) {
      const error = err instanceof TrinoError ? err : fromTransportError(err, queryId);
      options.onQuery?.(name, performance.now() - started, error.code);
      // A caller going away is routine; everything else is worth an operator's look.
      const level = error.code === ErrorCode.TRINO_CANCELLED ? 'debug' : 'warn';
      log?.[level](
        {
          queryId: error.queryId ?? queryId,
          statement: name,
          code: error.code,
          trinoError: error.trinoErrorName,
          detail: error.detail,
        },
        'trino query failed',
      );
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Whichever of the two lost the race may still settle; nobody waits for it any more.
      work.then(
        () => undefined,
        () => undefined,
      );
      stopped.catch(() => undefined);
    }
  }

  return {
    run,
    get submitted() {
      return submitted;
    },
  };
}
