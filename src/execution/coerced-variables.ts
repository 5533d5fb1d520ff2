/**
 * An operation's variables coerced once per request. The access check (src/auth/authorize-operation.ts)
 * and the cost estimate (src/limits/cost.ts) both need the coerced values before execution; for
 * `ingestReadings` that is 500 input objects, and graphql-js coercing them, twice over, was about a
 * quarter of the gateway's main thread. The result is remembered by the raw variables object (one
 * per request, never changed by Apollo or graphql-ws) together with the schema and operation it
 * was coerced for; callers only read it.
 *
 * The coercion is graphql-jit's: generated once per operation, about ten times cheaper than
 * graphql-js's generic walk, with the same values for variables that fit (tests/unit/coerced-variables.test.ts).
 * Variables that do not fit are only reported here as errors; execution reports them to the client.
 */
import { createRequire } from 'node:module';
import type { GraphQLError, GraphQLSchema, OperationDefinitionNode, VariableDefinitionNode } from 'graphql';

export type CoercedVariables =
  { coerced: Record<string, unknown>; errors?: never } | { errors: readonly GraphQLError[]; coerced?: never };

type Parser = (inputs: Record<string, unknown>) => CoercedVariables;

// graphql-jit's ES module build of this file does not load on its own; its CommonJS build does,
// against the same graphql.
const { compileVariableParsing } = createRequire(import.meta.url)('graphql-jit/dist/variables.js') as {
  compileVariableParsing(schema: GraphQLSchema, definitions: readonly VariableDefinitionNode[]): Parser;
};

interface Remembered<T> {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  value: T;
}

const parsers = new WeakMap<OperationDefinitionNode, Remembered<Parser>>();
const remembered = new WeakMap<object, Remembered<CoercedVariables>>();

function parserFor(schema: GraphQLSchema, operation: OperationDefinitionNode): Parser {
  const hit = parsers.get(operation);
  if (hit && hit.schema === schema) return hit.value;
  const value = compileVariableParsing(schema, operation.variableDefinitions ?? []);
  parsers.set(operation, { schema, operation, value });
  return value;
}

/**
 * `remember: false` coerces without keeping the result: for a subscription, whose raw variables
 * live as long as it does, a remembered copy would cost every open subscription its size again.
 */
export function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Readonly<Record<string, unknown>> | null | undefined,
  options: { remember?: boolean } = {},
): CoercedVariables {
  const hit = raw ? remembered.get(raw) : undefined;
  if (hit && hit.schema === schema && hit.operation === operation) return hit.value;
  const value = parserFor(schema, operation)({ ...raw });
  if (raw && options.remember !== false) remembered.set(raw, { schema, operation, value });
  return value;
}
