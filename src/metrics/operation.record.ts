/**
 * What every GraphQL operation leaves behind, whichever transport carried it: one observation in
 * the operation histogram (name, type, outcome, seconds; its `_count` is the operation counter) and
 * one log line with the request id and the error codes. The HTTP plugin (operation.plugin.ts) and
 * the graphql-ws server both call this, so the two transports are counted and logged alike.
 */
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logger.js';
import type { GatewayMetrics, OperationOutcome } from './gateway.metrics.js';

export interface OperationRecord {
  requestId: string;
  operationName: string | null | undefined;
  /** query, mutation, subscription, or unknown when the document did not resolve to one. */
  type: string;
  outcome: OperationOutcome;
  seconds: number;
  /** The errors' codes (INTERNAL_SERVER_ERROR for one without). */
  errors?: readonly Pick<GraphQLFormattedError, 'extensions'>[] | undefined;
  transport: 'http' | 'ws';
}

export function codesOf(errors: readonly Pick<GraphQLFormattedError, 'extensions'>[] | undefined): string[] {
  if (!errors) return [];
  return [...new Set(errors.map((e) => String(e.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR')))];
}

export type OperationRecorder = (record: OperationRecord) => void;

export function operationRecorder(metrics: Pick<GatewayMetrics, 'observeOperation'>, logger: Logger): OperationRecorder {
  return (r) => {
    metrics.observeOperation(r.operationName, r.type, r.outcome, r.seconds);
    const codes = codesOf(r.errors);
    const line = {
      requestId: r.requestId,
      operation: r.operationName ?? null,
      type: r.type,
      outcome: r.outcome,
      ms: Math.round(r.seconds * 10_000) / 10,
      transport: r.transport,
      ...(codes.length > 0 ? { codes } : {}),
    };
    // Failures a client caused are routine; unexpected ones are the operator's business.
    if (codes.includes('INTERNAL_SERVER_ERROR')) logger.error(line, 'graphql operation');
    else logger.info(line, 'graphql operation');
  };
}
