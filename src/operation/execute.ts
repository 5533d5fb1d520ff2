/**
 * Execution: the hot operations by graphql-jit, everything else by graphql-js.
 *
 * graphql-js interprets an operation field by field: for `series` over a day at MINUTE that is
 * 8,640 resolver calls and completions per request, and for `ingestReadings` a generic coercion of
 * 500 input objects; on the gateway's one event loop that, not Postgres or Kafka, set the
 * figures (bench/ANALYSIS.md). graphql-jit compiles an operation once into JavaScript that does the
 * same work without the interpretation (variables coerced by generated code, plain fields read
 * directly). Compiled queries are kept per parsed document: Apollo's document store and the
 * pipeline's document cache hand back the same DocumentNode for the same text.
 *
 * Only operations whose every root field is in `hotFields` are compiled, and only when their
 * variables fit (the pipeline refused the others before execution); a document graphql-jit cannot
 * compile runs on graphql-js.
 */
import {
  execute,
  getOperationAST,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { coerceVariables } from '../execution/coerced-variables.js';

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

/** graphql-js's `execute`, or the compiled query of a hot operation whose variables fit. */
export function executor(hotFields: HotFields): (args: ExecutionArgs) => Promise<ExecutionResult> {
  return async (args) => {
    const { schema, document, operationName } = args;
    const variables = args.variableValues ?? {};
    const operation = getOperationAST(document, operationName);
    const query = operation && compiledOperation(schema, document, operation, operationName, hotFields);
    if (query && operation && !coerceVariables(schema, operation, variables).errors)
      return query.query(args.rootValue, args.contextValue, variables) as Promise<ExecutionResult> | ExecutionResult;
    return execute(args);
  };
}
