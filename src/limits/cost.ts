/**
 * The cost of an operation, estimated before it runs (graphql-query-complexity): roughly the
 * number of objects it can produce. A list field costs its expected length times (1 + what each
 * element selects); scalar fields cost nothing (aliases are capped separately). Lengths come from
 * the arguments:
 *
 * - from/to/bucket (series, cohortStats): the number of buckets in the range, counted up to
 *   SERIES_MAX_POINTS + 1 (beyond, the field refuses with TOO_MANY_POINTS), or up to maxPoints
 *   when a series is downsampled (it answers at most that many);
 * - first (readings, default 100), limit (leaderboard, default 10);
 * - ids (users), readings (ingestReadings) and times (ingestSeries): the list's length.
 *
 * Fields answered by a backend query are priced by what that query costs, beyond the objects it
 * returns: a Trino aggregate (`cohortStats`, `leaderboard`) is a distributed query of seconds, so
 * it starts at TRINO_QUERY_COST (with the default limit, at most 20 of them per operation);
 * `pipelineStatus` asks Kafka, Flink and Postgres several questions. `health` is priced at 10: its
 * probe is shared by every caller of the moment (src/health/health.service.ts).
 */
import {
  getNamedType,
  getOperationAST,
  BREAK,
  visit,
  visitWithTypeInfo,
  isCompositeType,
  isListType,
  isNonNullType,
  TypeInfo,
  ValidationContext,
  type DocumentNode,
  type GraphQLError,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import { createComplexityRule, getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { coerceVariables } from '../execution/coerced-variables.js';
import { BUCKETS, type BucketName } from '../domain/metrics.js';
import { AppError, ErrorCode } from '../errors.js';

const FIXED: Readonly<Record<string, number>> = { 'Query.health': 10 };
/** What one Trino aggregate query costs, in the unit of the cost model (objects produced). */
export const TRINO_QUERY_COST = 5_000;
/** Added to a field's own cost: the backend work behind it. */
const BACKEND: Readonly<Record<string, number>> = {
  'Query.cohortStats': TRINO_QUERY_COST,
  'Query.leaderboard': TRINO_QUERY_COST,
  'Query.pipelineStatus': 100,
};
const DEFAULT_FIRST = 100;
const DEFAULT_LIMIT = 10;

/** The arguments `expectedLength` and `rowEstimator` read; no other argument changes a cost. */
export const COST_ARGUMENTS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'bucket',
  'maxPoints',
  'first',
  'limit',
  'ids',
  'readings',
  'times',
]);

const isList = (t: GraphQLOutputType): boolean => isListType(isNonNullType(t) ? t.ofType : t);

/** Expected length of a field's result from its arguments; 1 for a single object. */
export function expectedLength(
  args: Readonly<Record<string, unknown>>,
  list: boolean,
  maxBuckets = Number.POSITIVE_INFINITY,
): number {
  const { from, to, bucket, first, limit, ids, readings, times, maxPoints } = args;
  if (from instanceof Date && to instanceof Date && typeof bucket === 'string' && bucket in BUCKETS) {
    const span = to.getTime() - from.getTime();
    // Past maxBuckets the field refuses the range itself (TOO_MANY_POINTS), a more useful answer than a cost error.
    const cap = typeof maxPoints === 'number' && maxPoints > 0 ? Math.min(maxBuckets, maxPoints) : maxBuckets;
    return Number.isFinite(span) && span > 0 ? Math.min(cap, Math.ceil(span / BUCKETS[bucket as BucketName])) : 1;
  }
  if ('first' in args || (list === false && from instanceof Date && !('limit' in args))) {
    return typeof first === 'number' && first > 0 ? first : DEFAULT_FIRST;
  }
  if ('limit' in args) return typeof limit === 'number' && limit > 0 ? limit : DEFAULT_LIMIT;
  if (Array.isArray(ids)) return Math.max(1, ids.length);
  if (Array.isArray(readings)) return Math.max(1, readings.length);
  if (Array.isArray(times)) return Math.max(1, times.length);
  return 1;
}

export const rowEstimator =
  (maxBuckets = Number.POSITIVE_INFINITY): ComplexityEstimator =>
  ({ type, field, args, childComplexity }) => {
    const coordinate = `${type.name}.${field.name}`;
    const fixed = FIXED[coordinate];
    if (fixed !== undefined) return fixed;
    const backend = BACKEND[coordinate] ?? 0;
    if (!isCompositeType(getNamedType(field.type))) {
      // A mutation's input list is the work even though its result is small.
      return Array.isArray(args['readings']) ? args['readings'].length : 0;
    }
    return backend + expectedLength(args, isList(field.type), maxBuckets) * (1 + childComplexity);
  };

type ComplexityVisitor = ReturnType<ReturnType<typeof createComplexityRule>>;

/**
 * graphql-query-complexity's `getComplexity`, with the variables coerced once per request
 * (src/execution/coerced-variables.ts) instead of by the library again: the operation's entry is the
 * library's own but for where the variable values come from.
 */
function complexity(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | null | undefined,
  estimators: ComplexityEstimator[],
  maxQueryNodes: number,
): number {
  const typeInfo = new TypeInfo(schema);
  const errors: GraphQLError[] = [];
  const context = new ValidationContext(schema, document, typeInfo, (error) => errors.push(error));
  const visitor = createComplexityRule({
    maximumComplexity: Number.POSITIVE_INFINITY,
    estimators,
    ...(operationName ? { operationName } : {}),
    maxQueryNodes,
  })(context);
  visitor.OperationDefinition = {
    ...visitor.OperationDefinition,
    enter(this: ComplexityVisitor, operation: OperationDefinitionNode) {
      if (operationName && operationName !== operation.name?.value) return;
      this.variableValues = variables;
      this.complexity += this.nodeComplexity(operation, schema.getRootType(operation.operation) ?? undefined);
    },
  };
  visit(document, visitWithTypeInfo(typeInfo, visitor));
  if (errors.length > 0) throw errors.pop();
  return visitor.complexity as number;
}

/**
 * The operation's cost, or undefined when it cannot be estimated because the variables do not
 * fit the operation (execution then reports that error with its own code).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | null | undefined,
  /** Buckets counted at most per field: the per-series point limit plus one (SERIES_MAX_POINTS). */
  maxBuckets = Number.POSITIVE_INFINITY,
): number | undefined {
  const estimators = [rowEstimator(maxBuckets)];
  const maxQueryNodes = 100_000;
  try {
    const operation = getOperationAST(document, operationName);
    // A document whose operation is ambiguous: the library's own walk over every operation.
    if (!operation)
      return getComplexity({
        schema,
        query: document,
        variables: variables ?? {},
        ...(operationName ? { operationName } : {}),
        estimators,
        maxQueryNodes,
      });
    const coerced = coerceVariables(schema, operation, variables);
    if (coerced.errors) return undefined;
    return complexity(schema, document, coerced.coerced, operationName, estimators, maxQueryNodes);
  } catch (err) {
    if (err instanceof Error && /maximum allowed number of nodes/.test(err.message)) return Number.POSITIVE_INFINITY;
    return undefined;
  }
}

export function costError(cost: number, limit: number): AppError {
  return new AppError(
    ErrorCode.QUERY_TOO_COMPLEX,
    `query cost ${Number.isFinite(cost) ? cost : 'unbounded'} over the limit of ${limit}; narrow the range, use a wider bucket or ask for fewer items`,
    {
      details: { cost: Number.isFinite(cost) ? cost : null, limit },
    },
  );
}

/**
 * Whether variable values can change the document's cost: a variable in an argument the
 * estimator reads (COST_ARGUMENTS) or in a directive (@skip/@include drop what they guard).
 */
export function costDependsOnVariables(document: DocumentNode): boolean {
  const hasVariable = (value: ValueNode): boolean => {
    let found = false;
    visit(value, {
      Variable() {
        found = true;
        return BREAK;
      },
    });
    return found;
  };
  let depends = false;
  const found = () => {
    depends = true;
    return BREAK;
  };
  visit(document, {
    Field(node) {
      return node.arguments?.some((a) => COST_ARGUMENTS.has(a.name.value) && hasVariable(a.value))
        ? found()
        : undefined;
    },
    Directive(node) {
      return node.arguments?.some((a) => hasVariable(a.value)) ? found() : undefined;
    },
  });
  return depends;
}

const dependsOnVariables = new WeakMap<DocumentNode, boolean>();
/** Per schema and document: the operations (name, limit, bucket cap) known to pass whatever the variables. */
const passing = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Set<string>>>();

/**
 * An AppError when the operation costs more than `limit` (0: no limit). Documents are parsed once
 * per distinct text (Apollo's document store, graphql-ws's document cache), so the same operation
 * comes back as the same DocumentNode: when its cost does not depend on variables and it passed
 * once, it passes again without being walked.
 */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | null | undefined,
  limit: number,
  maxBuckets = Number.POSITIVE_INFINITY,
): AppError | undefined {
  if (limit <= 0) return undefined;
  let depends = dependsOnVariables.get(document);
  if (depends === undefined) {
    depends = costDependsOnVariables(document);
    dependsOnVariables.set(document, depends);
  }
  const key = `${operationName ?? ''}|${limit}|${maxBuckets}`;
  let known: Set<string> | undefined;
  if (!depends) {
    let bySchema = passing.get(schema);
    if (!bySchema) passing.set(schema, (bySchema = new WeakMap()));
    known = bySchema.get(document);
    if (known?.has(key)) return undefined;
  }
  const cost = operationCost(schema, document, variables, operationName, maxBuckets);
  if (cost !== undefined && cost > limit) return costError(cost, limit);
  // Only a cost that was computed is remembered: undefined means these variables did not fit.
  if (!depends && cost !== undefined) {
    if (!known) passing.get(schema)!.set(document, (known = new Set()));
    known.add(key);
  }
  return undefined;
}
