/**
 * An Apollo Server plugin that times every GraphQL operation over HTTP and hands it to the
 * operation recorder (operation.recorder.ts: the histogram by name, type, outcome and transport,
 * and one log line carrying the request id), and returns that id to the caller in the
 * `x-request-id` response header.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { REQUEST_ID_HEADER } from '../http/request-id.js';
import type { RecordOperation } from './operation.recorder.js';

export interface OperationPluginOptions {
  /** The recorder shared with the WebSocket path. */
  record: RecordOperation;
}

export function operationPlugin<TContext extends { requestId: string }>(
  options: OperationPluginOptions,
): ApolloServerPlugin<TContext> {
  const { record } = options;
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
          response.http.headers.set(REQUEST_ID_HEADER, contextValue.requestId);
          record({
            transport: 'http',
            requestId: contextValue.requestId,
            // A document that did not validate has no resolved operation; the name the client sent stands in.
            operationName: resolvedName ?? request.operationName,
            type: operation?.operation ?? 'unknown',
            resolved,
            errors,
            seconds: (performance.now() - started) / 1000,
          });
        },
      };
    },
  };
}
