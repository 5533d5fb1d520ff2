/**
 * Every root field of a mutation is authorised before any of it runs. graphql-js executes a
 * mutation's root fields one after another, so a rule checked only inside each resolver lets
 * `{ a: ingestReadings(own user) b: ingestReadings(foreign user) }` store `a`'s readings and then
 * refuse `b`: the client sees `data: null` and cannot tell that half of it happened. This check
 * runs the same rules (policy.ts) with the same coerced arguments, for HTTP (an Apollo plugin) and
 * graphql-ws (ws-server's onSubscribe), once the operation is known and before execution, and
 * refuses the whole mutation.
 *
 * Queries and subscriptions change nothing, and each of their root fields is refused by its own
 * guard (protect-schema.ts) before its service runs; there a refused field fails alone and the
 * others still answer, as GraphQL answers per field. The guard also checks each delivered
 * subscription event, and any path that skips this one.
 */
import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  getArgumentValues,
  getDirectiveValues,
  getOperationAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { AppError, ErrorCode } from '../errors.js';
import type { Principal } from './principal.js';
import { ruleFor } from './policy.js';
import { principalOf } from './protect-schema.js';
import { coerceVariables } from '../execution/coerced-variables.js';

type Variables = Record<string, unknown>;

function included(node: FieldNode | { directives?: FieldNode['directives'] }, variables: Variables): boolean {
  const skip = getDirectiveValues(GraphQLSkipDirective, node, variables);
  if (skip?.['if'] === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node, variables);
  return include?.['if'] !== false;
}

/** The root fields that would execute, through fragments, honouring @skip and @include. */
function rootFields(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Variables,
  out: FieldNode[] = [],
  seen: Set<string> = new Set(),
): FieldNode[] {
  for (const selection of selectionSet.selections) {
    if (!included(selection, variables)) continue;
    if (selection.kind === Kind.FIELD) out.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      rootFields(selection.selectionSet, fragments, variables, out, seen);
    else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) continue;
      seen.add(name);
      rootFields(fragment.selectionSet, fragments, variables, out, seen);
    }
  }
  return out;
}

/**
 * The first refusal among the operation's root fields, or undefined when all may run. An
 * operation that cannot be resolved, or variables that do not fit, are left for execution to
 * report with its own codes.
 */
export function authorizeOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Variables | null | undefined,
  principal: Principal | undefined,
): AppError | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'mutation') return undefined;
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return undefined;
  // Coerced once per request, shared with the cost estimate (src/execution/coerced-variables.ts).
  const coerced = coerceVariables(schema, operation, rawVariables);
  if (coerced.errors) return undefined;
  const variables = coerced.coerced;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const fields = rootType.getFields();
  for (const node of rootFields(operation.selectionSet, fragments, variables)) {
    const field = fields[node.name.value];
    if (!field) continue; // __typename (and unknown fields, which validation refused already)
    let args: Variables;
    try {
      args = getArgumentValues(field, node, variables);
    } catch {
      continue; // arguments that do not coerce: execution reports them with their own code
    }
    try {
      ruleFor(`${rootType.name}.${field.name}`)(principalOf({ principal }), args);
    } catch (err) {
      if (err instanceof AppError) return err;
      throw err;
    }
  }
  return undefined;
}

/** The HTTP status of a refusal from authorizeOperation. */
export function refusalStatus(err: AppError): number {
  return err.code === ErrorCode.UNAUTHENTICATED ? 401 : err.code === ErrorCode.FORBIDDEN ? 403 : 400;
}
