/**
 * The hot operations executed by graphql-jit, everything else by graphql-js as before.
 *
 * graphql-js interprets an operation field by field: for `series` over a day at MINUTE that is
 * 8,640 resolver calls and completions per request, and for `ingestReadings` a generic coercion of
 * 500 input objects; on the gateway's one event loop that, not Postgres or Kafka, set the
 * figures (bench/ANALYSIS.md). graphql-jit compiles an operation once into JavaScript that does the
 * same work without the interpretation (variables coerced by generated code, plain fields read
 * directly). Compiled queries are kept per parsed document: Apollo's document store and the
 * WebSocket path's cache hand back the same DocumentNode for the same text.
 *
 * Only operations whose every root field is in `hotFields` are compiled. Variables that do not fit
 * the operation (known before execution: src/execution/coerced-variables.ts) run on graphql-js, so
 * that their errors are graphql-js's, which Apollo recognises as BAD_USER_INPUT; so does a document
 * graphql-jit cannot compile.
 *
 * Apollo Server takes another executor only through its gateway interface, so this is one: it
 * hands Apollo the schema once and executes what Apollo has parsed, validated and passed through
 * the plugins (access rules, cost) already.
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import {
  execute,
  Kind,
  printSchema,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { coerceVariables } from '../execution/coerced-variables.js';

type Gateway = ApolloServerOptionsWithGateway<BaseContext>['gateway'];

/** `Type.field` coordinates of root fields worth compiling, e.g. `Query.series`. */
export type HotFields = ReadonlySet<string>;

const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();

/** Whether every root field of the operation (no fragments at the root) is a hot one. */
function isHot(schema: GraphQLSchema, operation: OperationDefinitionNode, hotFields: HotFields): boolean {
  const root = schema.getRootType(operation.operation);
  if (!root || operation.operation === 'subscription') return false;
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return false;
    const name = selection.name.value;
    if (name !== '__typename' && !hotFields.has(`${root.name}.${name}`)) return false;
  }
  return true;
}

/** The compiled operation, or null when it runs on graphql-js (not hot, or not compilable). */
export function compiledOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  operationName: string | null | undefined,
  hotFields: HotFields,
): CompiledQuery | null {
  let byName = compiled.get(document);
  if (!byName) compiled.set(document, (byName = new Map()));
  const key = operationName ?? '';
  let query = byName.get(key);
  if (query === undefined) {
    query = null;
    if (isHot(schema, operation, hotFields)) {
      const result = compileQuery(schema, document, operationName ?? undefined);
      if (isCompiledQuery(result)) query = result;
    }
    byName.set(key, query);
  }
  return query;
}

/** Apollo's executor: the compiled query for hot operations, graphql-js's `execute` for the rest. */
export function compiledExecution(schema: GraphQLSchema, hotFields: HotFields): Gateway {
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => undefined;
    },
    async load() {
      return {
        async executor(rc) {
          const variables = rc.request.variables ?? {};
          const compiled = compiledOperation(schema, rc.document, rc.operation, rc.operationName, hotFields);
          const query = compiled && !coerceVariables(schema, rc.operation, variables).errors ? compiled : null;
          const result: ExecutionResult = query
            ? await query.query(undefined, rc.context, variables)
            : await execute({
                schema,
                document: rc.document,
                contextValue: rc.context,
                variableValues: variables,
                operationName: rc.operationName,
              });
          return result;
        },
      };
    },
    async stop() {},
  };
}
