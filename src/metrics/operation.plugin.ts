/**
 * An Apollo Server plugin that times every GraphQL operation over HTTP, labels it with its name,
 * type and outcome, writes one structured log line per operation carrying the request id, and
 * returns that id to the caller in the `x-request-id` response header.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Logger } from '../logger.js';
import { REQUEST_ID_HEADER } from '../http/request-id.js';
import type { GatewayMetrics, OperationOutcome } from './gateway.metrics.js';
import { operationRecorder } from './operation.record.js';

export interface OperationPluginOptions {
  metrics: Pick<GatewayMetrics, 'observeOperation'>;
  logger: Logger;
}

export function operationPlugin<TContext extends { requestId: string }>(
  options: OperationPluginOptions,
): ApolloServerPlugin<TContext> {
  const record = operationRecorder(options.metrics, options.logger);
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
          const outcome: OperationOutcome = !resolved ? 'invalid' : errors && errors.length > 0 ? 'error' : 'ok';
          record({
            requestId: contextValue.requestId,
            operationName,
            type: operation?.operation ?? 'unknown',
            outcome,
            seconds: (performance.now() - started) / 1000,
            errors,
            transport: 'http',
          });
        },
      };
    },
  };
}
