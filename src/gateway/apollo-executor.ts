/**
 * Apollo Server as an adapter of the operation pipeline (src/operation/pipeline.ts). Apollo parses
 * and validates with the pipeline's options and keeps the parsed documents; everything after that,
 * admission and execution, is the pipeline's, reached through the one seam Apollo offers for
 * another executor: its gateway interface. A refusal is answered as an execution result whose
 * errors carry their HTTP status (Apollo takes the status from `extensions.http` and strips it).
 */
import { HeaderMap, type ApolloServerOptionsWithGateway, type BaseContext } from '@apollo/server';
import { printSchema, type GraphQLError } from 'graphql';
import { withExtensions } from '../errors.js';
import type { OperationPipeline } from '../operation/pipeline.js';
import type { Principal } from '../auth/principal.js';

type Gateway = ApolloServerOptionsWithGateway<BaseContext>['gateway'];

/** The error as it was, plus the status of the HTTP answer (a status it carries already wins). */
function withStatus(err: GraphQLError, status: number): GraphQLError {
  const http = err.extensions['http'] ?? { status, headers: new HeaderMap() };
  return withExtensions(err, { http }, err.originalError ?? err);
}

export function apolloExecutor(pipeline: OperationPipeline): Gateway {
  const { schema } = pipeline;
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => undefined;
    },
    async load() {
      return {
        async executor(rc) {
          const context = rc.context as { principal?: Principal };
          const refusal = pipeline.admit(rc.document, rc.request, { transport: 'http', principal: context.principal });
          if (refusal) return { errors: refusal.errors.map((e) => withStatus(e, refusal.status)) };
          return pipeline.execute({
            schema,
            document: rc.document,
            contextValue: rc.context,
            variableValues: rc.request.variables ?? {},
            operationName: rc.operationName,
          });
        },
      };
    },
    async stop() {},
  };
}
