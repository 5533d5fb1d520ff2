/**
 * One vocabulary of error codes for the whole API. Every error a client sees carries
 * `extensions.code`; anything that is not an AppError is masked as INTERNAL_SERVER_ERROR outside
 * development, so driver messages (SQL, host names) never reach a client.
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

/** An error meant for clients: its message is safe to show and its code is stable. */
export class AppError extends GraphQLError {
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
  }
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
