/**
 * An operation's variables coerced once per request. The access check (src/auth/authorize-operation.ts)
 * and the cost estimate (src/limits/cost.ts) both need the coerced values before execution; for
 * `ingestReadings` that is 500 input objects, and coercing them was, twice over, about a quarter of
 * the gateway's main thread. The result is remembered by the raw variables object (one per
 * request, never changed by Apollo or graphql-ws) together with the schema and operation it was
 * coerced for; callers only read it.
 */
import { getVariableValues, type GraphQLError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';

export type CoercedVariables =
  { coerced: Record<string, unknown>; errors?: never } | { errors: readonly GraphQLError[]; coerced?: never };

interface Remembered {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  result: CoercedVariables;
}

const remembered = new WeakMap<object, Remembered>();

export function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Readonly<Record<string, unknown>> | null | undefined,
): CoercedVariables {
  const hit = raw ? remembered.get(raw) : undefined;
  if (hit && hit.schema === schema && hit.operation === operation) return hit.result;
  const result = getVariableValues(schema, operation.variableDefinitions ?? [], raw ?? {}) as CoercedVariables;
  if (raw) remembered.set(raw, { schema, operation, result });
  return result;
}
