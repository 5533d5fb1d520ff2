/**
 * What can go wrong on the Trino read path, as codes of the API's one vocabulary (src/errors.ts):
 * the input codes are the API's own, and the TRINO_* codes say which backend failed. A TrinoError
 * is an AppError, so it reaches the client with its code and `retriable` as it is. Messages are
 * safe to show to a client: Trino's own message (which can quote SQL, catalog and host names) is
 * kept on the error for logs, never in `message`.
 */
import { AppError, ErrorCode, networkErrorCode } from '../errors.js';

/**
 * The codes a TrinoError may carry:
 * - TRINO_UNAVAILABLE: Trino cannot be reached, answers 5xx, or is still starting. Retriable.
 * - TRINO_QUERY_FAILED: Trino ran the query and reported a failure on a result page (SQL,
 *   connector, resources); retriable when the failure was of resources or of a connector.
 * - TRINO_TIMEOUT: the query did not finish within the timeout; it was cancelled in Trino.
 * - TRINO_CANCELLED: the caller went away (its AbortSignal fired); the query was cancelled in Trino.
 * - TRINO_BUSY: this gateway already runs and queues as many Trino queries as it may. Retriable.
 * - INVALID_METRIC, INVALID_RANGE (not valid instants, not in order, too long), INVALID_TIME_ZONE
 *   (not an IANA name that Intl and Trino both know), TOO_MANY_POINTS, and BAD_USER_INPUT (any
 *   other argument out of its domain: bucket name, leaderboard limit).
 */
export type TrinoErrorCode = Extract<
  ErrorCode,
  | 'TRINO_UNAVAILABLE'
  | 'TRINO_QUERY_FAILED'
  | 'TRINO_TIMEOUT'
  | 'TRINO_CANCELLED'
  | 'TRINO_BUSY'
  | 'INVALID_METRIC'
  | 'INVALID_RANGE'
  | 'INVALID_TIME_ZONE'
  | 'TOO_MANY_POINTS'
  | 'BAD_USER_INPUT'
>;

export interface TrinoErrorOptions {
  retriable?: boolean;
  /** Trino's query id, when the query got that far. */
  queryId?: string;
  /** Trino's error name (e.g. TABLE_NOT_FOUND, EXCEEDED_TIME_LIMIT) or the transport's code. */
  trinoErrorName?: string;
  /** Trino's or the transport's message, for logs only. */
  detail?: string;
  cause?: unknown;
}

export class TrinoError extends AppError {
  readonly queryId: string | undefined;
  readonly trinoErrorName: string | undefined;
  readonly detail: string | undefined;

  constructor(
    override readonly code: TrinoErrorCode,
    message: string,
    options: TrinoErrorOptions = {},
  ) {
    super(code, message, { retriable: options.retriable ?? false, cause: options.cause });
    this.name = 'TrinoError';
    this.queryId = options.queryId;
    this.trinoErrorName = options.trinoErrorName;
    this.detail = options.detail;
  }
}

export const isTrinoError = (err: unknown): err is TrinoError => err instanceof TrinoError;

/** The `error` object Trino puts on a result page (subset of trino-client's QueryError). */
export interface TrinoPageError {
  message?: string;
  errorName?: string;
  errorType?: string;
}

/**
 * Error names meaning "the cluster cannot take queries right now", not "this query is wrong". The
 * second group is what a query meets when a worker running its tasks dies: the same query
 * succeeds once the coordinator has scheduled around the lost node.
 */
const UNAVAILABLE_NAMES = new Set([
  'SERVER_STARTING_UP',
  'SERVER_SHUTTING_DOWN',
  'NO_NODES_AVAILABLE',
  'CLUSTER_OUT_OF_MEMORY',
  'REMOTE_TASK_ERROR',
  'REMOTE_HOST_GONE',
  'REMOTE_TASK_MISMATCH',
  'PAGE_TRANSPORT_ERROR',
  'PAGE_TRANSPORT_TIMEOUT',
  'TOO_MANY_REQUESTS_FAILED',
]);

/** A failure Trino reported on a result page. */
export function fromPageError(error: TrinoPageError, queryId: string | undefined): TrinoError {
  const name = error.errorName ?? 'UNKNOWN';
  const base = { queryId, trinoErrorName: name, detail: error.message };
  if (name === 'EXCEEDED_TIME_LIMIT') {
    return new TrinoError(ErrorCode.TRINO_TIMEOUT, 'The aggregate query took too long and was stopped.', {
      ...base,
      retriable: true,
    });
  }
  if (name === 'USER_CANCELED') {
    return new TrinoError(ErrorCode.TRINO_CANCELLED, 'The aggregate query was cancelled.', base);
  }
  if (UNAVAILABLE_NAMES.has(name)) {
    return new TrinoError(ErrorCode.TRINO_UNAVAILABLE, 'The analytics engine (Trino) is not available.', {
      ...base,
      retriable: true,
    });
  }
  // Resource and external (connector, e.g. Postgres down) failures may pass; a user error will not.
  const retriable = error.errorType === 'INSUFFICIENT_RESOURCES' || error.errorType === 'EXTERNAL';
  return new TrinoError(ErrorCode.TRINO_QUERY_FAILED, `The aggregate query failed in Trino (${name}).`, {
    ...base,
    retriable,
  });
}

/**
 * A failure of the HTTP exchange itself (trino-client rejects with axios errors): no answer or a
 * 5xx means Trino is unavailable; any other status means the request itself was refused.
 */
export function fromTransportError(err: unknown, queryId: string | undefined): TrinoError {
  if (err instanceof TrinoError) return err;
  const e = err as { code?: unknown; message?: unknown; response?: { status?: unknown } } | undefined;
  const status = typeof e?.response?.status === 'number' ? e.response.status : undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const detail = typeof e?.message === 'string' ? e.message : String(err);
  if (status === undefined || status >= 500 || networkErrorCode(err) !== undefined) {
    return new TrinoError(ErrorCode.TRINO_UNAVAILABLE, 'The analytics engine (Trino) is not available.', {
      retriable: true,
      queryId,
      trinoErrorName: code ?? (status !== undefined ? `HTTP_${status}` : undefined),
      detail,
      cause: err,
    });
  }
  return new TrinoError(ErrorCode.TRINO_QUERY_FAILED, `Trino refused the request (HTTP ${status}).`, {
    queryId,
    trinoErrorName: `HTTP_${status}`,
    detail,
    cause: err,
  });
}
