/**
 * An Apollo Server plugin that times every GraphQL operation over HTTP, labels it with its name,
 * type and outcome, writes one structured log line per operation carrying the request id, and
 * returns that id to the caller in the `x-request-id` response header.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Logger } from '../logger.js';
import { REQUEST_ID_HEADER } from '../ops/request-id.js';
import type { GatewayMetrics, OperationOutcome } from './gateway.metrics.js';

export interface OperationPluginOptions {
  metrics: Pick<GatewayMetrics, 'observeOperation'>;
  logger: Logger;
}

function codesOf(errors: readonly GraphQLError[] | undefined): string[] {
  if (!errors) return [];
  return [...new Set(errors.map((e) => String(e.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR')))];
}

export function operationPlugin<TContext extends { requestId: string }>(
  options: OperationPluginOptions,
): ApolloServerPlugin<TContext> {
  const { metrics, logger } = options;
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      let resolved = false;
      let errors: readonly GraphQLError[] | undefined;
      return {
        async didResolveOperation() {
          resolved = true;
        },
        async didEncounterErrors(ctx) {
          errors = ctx.errors;
        },
        async willSendResponse({ response, operationName: resolvedName, operation, request }) {
          // A document that did not validate has no resolved operation; the name the client sent stands in.
          const operationName = resolvedName ?? request.operationName;
          response.http.headers.set(REQUEST_ID_HEADER, contextValue.requestId);
          const seconds = (performance.now() - started) / 1000;
          const outcome: OperationOutcome = !resolved ? 'invalid' : errors && errors.length > 0 ? 'error' : 'ok';
          const type = operation?.operation ?? 'unknown';
          metrics.observeOperation(operationName, type, outcome, seconds);
          const codes = codesOf(errors);
          const line = {
            requestId: contextValue.requestId,
            operation: operationName ?? null,
            type,
            outcome,
            ms: Math.round(seconds * 10_000) / 10,
            ...(codes.length > 0 ? { codes } : {}),
          };
          // Failures a client caused are routine; unexpected ones are the operator's business.
          if (codes.includes('INTERNAL_SERVER_ERROR')) logger.error(line, 'graphql operation');
          else logger.info(line, 'graphql operation');
        },
      };
    },
  };
}
