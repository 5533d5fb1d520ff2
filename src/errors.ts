/**
 * One vocabulary of error codes for the whole API, and one taxonomy of backing-service failures.
 * Every error a client sees carries `extensions.code`; anything that is not an AppError is masked
 * as INTERNAL_SERVER_ERROR outside development, so driver messages (SQL, host names) never reach
 * a client.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  INVALID_INPUT: 'INVALID_INPUT',
  INVALID_METRIC: 'INVALID_METRIC',
  INVALID_USER_ID: 'INVALID_USER_ID',
  INVALID_TIME: 'INVALID_TIME',
  INVALID_TIME_ZONE: 'INVALID_TIME_ZONE',
  TIME_IN_FUTURE: 'TIME_IN_FUTURE',
  VALUE_OUT_OF_RANGE: 'VALUE_OUT_OF_RANGE',
  VALUE_NOT_FINITE: 'VALUE_NOT_FINITE',
  INVALID_FIELD: 'INVALID_FIELD',
  INVALID_JSON: 'INVALID_JSON',
  UNSUPPORTED_SCHEMA_VERSION: 'UNSUPPORTED_SCHEMA_VERSION',
  DATABASE_REJECTED: 'DATABASE_REJECTED',
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INVALID_RANGE: 'INVALID_RANGE',
  RANGE_TOO_SHORT: 'RANGE_TOO_SHORT',
  TOO_MANY_POINTS: 'TOO_MANY_POINTS',
  INVALID_CURSOR: 'INVALID_CURSOR',
  CURSOR_EXPIRED: 'CURSOR_EXPIRED',
  KAFKA_UNAVAILABLE: 'KAFKA_UNAVAILABLE',
  KAFKA_TIMEOUT: 'KAFKA_TIMEOUT',
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  TRINO_UNAVAILABLE: 'TRINO_UNAVAILABLE',
  TRINO_QUERY_FAILED: 'TRINO_QUERY_FAILED',
  TRINO_TIMEOUT: 'TRINO_TIMEOUT',
  TRINO_CANCELLED: 'TRINO_CANCELLED',
  TRINO_BUSY: 'TRINO_BUSY',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  TOO_MANY_OPERATIONS: 'TOO_MANY_OPERATIONS',
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
  RATE_LIMITED: 'RATE_LIMITED',
  OPERATION_NOT_SUPPORTED: 'OPERATION_NOT_SUPPORTED',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * What a failure of a backing service (Postgres, Kafka, Trino) means for whoever asked, in the same
 * words on every path. Each adapter maps its driver's errors to a kind, and only the adapter knows
 * the driver's codes: `classifyDatabaseError` (src/timescale/pg.failure.ts), `classifyKafkaError`
 * (src/kafka/failure.ts), `fromPageError`/`fromTransportError` (src/trino/trino.errors.ts).
 *
 * - `unavailable`: the service did not answer, or answered that it cannot now (down, starting,
 *   overloaded, a connection lost). Retriable: the same request may pass later. The consumer backs
 *   off and retries the same batch; a client gets a retriable code (DATABASE_UNAVAILABLE,
 *   KAFKA_UNAVAILABLE, TRINO_UNAVAILABLE...).
 * - `data`: the service refused this input (a value out of range, a record too large). Not
 *   retriable: the same request fails again. The consumer sends the message to the DLQ.
 * - `unknown`: neither (a bug, a missing table, a permission). Not retriable by a client, and
 *   masked; the consumer retries it loudly rather than send every message to the DLQ.
 */
export type FailureKind = 'unavailable' | 'data' | 'unknown';

/** Only a service that is unavailable may answer differently to the same request later. */
export const isRetriable = (kind: FailureKind): boolean => kind === 'unavailable';

/** Node's socket and DNS error codes: nothing answered (as opposed to an answer refusing the request). */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * The network error code of `err`, or of an error it wraps: fetch puts the socket's error in
 * `cause`, and a connect to a name with several addresses rejects with an AggregateError of one
 * error per address. Undefined when no such code is found.
 */
export function networkErrorCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && seen.size < 16) {
    const cur = queue.shift();
    if (cur === null || typeof cur !== 'object' || seen.has(cur)) continue;
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
    queue.push((cur as { cause?: unknown }).cause);
    if (cur instanceof AggregateError) queue.push(...(cur.errors as unknown[]));
  }
  return undefined;
}

/**
 * An error meant for clients: its message is safe to show and its code is stable. `retriable`
 * (kafkajs's word) says whether the same request may pass later; it is sent as
 * `extensions.retriable` when the thrower said so.
 */
export class AppError extends GraphQLError {
  readonly retriable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { retriable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, {
      extensions: {
        code,
        ...(options.retriable !== undefined ? { retriable: options.retriable } : {}),
        ...options.details,
      },
      originalError: options.cause instanceof Error ? options.cause : undefined,
    });
    this.name = 'AppError';
    this.retriable = options.retriable ?? false;
  }
}

/**
 * The same error (message, locations, path) with `extensions` added: the code graphql-js leaves
 * out, or the HTTP status a transport answers with. `originalError` is what the copy points back to.
 */
export function withExtensions(
  err: GraphQLError,
  extensions: Record<string, unknown>,
  originalError: Error | undefined = err.originalError,
): GraphQLError {
  return new GraphQLError(err.message, {
    nodes: err.nodes,
    source: err.source,
    positions: err.positions,
    path: err.path,
    originalError,
    extensions: { ...err.extensions, ...extensions },
  });
}

/** Finds the AppError inside whatever graphql-js wrapped around it. */
function appErrorOf(err: unknown): AppError | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur; depth += 1) {
    if (cur instanceof AppError) return cur;
    cur = (cur as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/** Longest error message sent to a client; longer ones (an echoed 2 MB input) are cut. */
export const MAX_MESSAGE_CHARS = 512;

/** A client-supplied value quoted in a message: JSON, cut to `max` characters. */
export function quote(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value) ?? typeof value);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

function capMessage(message: string): string {
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}… (cut)` : message;
}

/** graphql-js's "Did you mean ...?" hints name fields and types a schema without introspection should not reveal. */
function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/s, '').trimEnd();
}

export interface FormatOptions {
  /** Unknown errors keep their message (still coded INTERNAL_SERVER_ERROR). */
  development: boolean;
  /** Introspection is off: messages do not suggest field, type or enum names. */
  hideSchemaDetails: boolean;
}

/**
 * The gateway's format options. Unknown errors are shown only with NODE_ENV=development: a test or
 * production deployment masks them, as Apollo Server (no stack traces under `test`) and Yoga
 * (masking unless development) do.
 */
export function formatOptionsFor(env: 'development' | 'production' | 'test', introspection: boolean): FormatOptions {
  return { development: env === 'development', hideSchemaDetails: !introspection };
}

/**
 * The one error normaliser of both transports (Apollo's formatError, graphql-ws's messages):
 * keeps AppErrors and graphql-js's own validation errors (which already carry a code), masks the
 * rest, caps what a message can echo back, and drops schema hints when introspection is off.
 * Never throws.
 */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  options: FormatOptions,
): GraphQLFormattedError {
  const shown = format(formatted, error, options.development);
  const message = capMessage(options.hideSchemaDetails ? withoutSuggestions(shown.message) : shown.message);
  return message === shown.message ? shown : { ...shown, message };
}

function format(formatted: GraphQLFormattedError, error: unknown, development: boolean): GraphQLFormattedError {
  const app = appErrorOf(error);
  if (app) {
    // `http` (status, headers) is for the transport (Apollo reads it before formatting), not for clients.
    const { http: _http, ...extensions } = { ...formatted.extensions, ...app.extensions };
    return { ...formatted, message: app.message, extensions };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  if (development)
    return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.INTERNAL_SERVER_ERROR } };
  return {
    message: 'Unexpected error.',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}
