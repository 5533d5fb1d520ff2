/**
 * One record per GraphQL operation, whichever transport carried it: a sample of
 * `fitbit_graphql_operation_duration_seconds` and one `graphql operation` log line. The HTTP path
 * (the Apollo plugin, operation.plugin.ts) and the WebSocket path (src/gateway/ws-server.ts) both
 * report through this, so the outcome rule, the labels and the log level are decided here only.
 */
import type { GraphQLError } from 'graphql';
import type { Logger } from '../logger.js';
import type { GatewayMetrics, OperationOutcome, OperationTransport } from './gateway.metrics.js';

export interface OperationRecord {
  transport: OperationTransport;
  /** The request id the operation ran under; undefined where none was made (a subscription). */
  requestId: string | undefined;
  /** The operation's name, or the one the client sent when the document did not resolve. */
  operationName: string | null | undefined;
  /** `query`, `mutation`, `subscription`; `unknown` when the document did not resolve to an operation. */
  type: string;
  /** False when the document did not parse or validate: the outcome is then `invalid`. */
  resolved: boolean;
  /** The errors the operation ended with (before masking), if any. */
  errors: readonly GraphQLError[] | undefined;
  /** From the request's arrival to its result; for a subscription, to its start (not its lifetime). */
  seconds: number;
}

/** Records one finished (or, for a subscription, started) operation. Never throws. */
export type RecordOperation = (record: OperationRecord) => void;

export interface OperationRecorderOptions {
  metrics: Pick<GatewayMetrics, 'observeOperation'>;
  logger: Logger;
}

function codesOf(errors: readonly GraphQLError[] | undefined): string[] {
  if (!errors) return [];
  return [...new Set(errors.map((e) => String(e.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR')))];
}

export function outcomeOf(resolved: boolean, errors: readonly GraphQLError[] | undefined): OperationOutcome {
  return !resolved ? 'invalid' : errors && errors.length > 0 ? 'error' : 'ok';
}

export function createOperationRecorder(options: OperationRecorderOptions): RecordOperation {
  const { metrics, logger } = options;
  return (r) => {
    const outcome = outcomeOf(r.resolved, r.errors);
    metrics.observeOperation(r.operationName, r.type, outcome, r.seconds, r.transport);
    const codes = codesOf(r.errors);
    const line = {
      requestId: r.requestId ?? null,
      transport: r.transport,
      operation: r.operationName ?? null,
      type: r.type,
      outcome,
      ms: Math.round(r.seconds * 10_000) / 10,
      ...(codes.length > 0 ? { codes } : {}),
    };
    // Failures a client caused are routine; unexpected ones are the operator's business.
    if (codes.includes('INTERNAL_SERVER_ERROR')) logger.error(line, 'graphql operation');
    else logger.info(line, 'graphql operation');
  };
}
