/**
 * The operation pipeline: what happens to a GraphQL operation between its transport and its
 * resolvers, the same for HTTP (Apollo Server) and WebSocket (graphql-ws). Every policy lives here
 * once; the transports are adapters that hand operations in and answers out (src/gateway/app.ts
 * for HTTP, src/gateway/ws-server.ts for graphql-ws). In order:
 *
 *   1. parse with the token limit and validate with graphql-js's rules plus the document limits
 *      (depth, aliases, operations; no introspection when the schema is hidden): `parseOptions`,
 *      `validationRules` and `introspection` for Apollo, which keeps its own document store;
 *      `document()` for graphql-ws;
 *   2. `admit()`: root-field access, what the transport can carry (no subscription over HTTP,
 *      subscriptions per connection), the subject's rate, variables, cost;
 *   3. `execute()` / `subscribe()`: graphql-jit for the hot operations, graphql-js otherwise, and
 *      a lean response stream per subscription;
 *   4. `formatError()`: the one error normaliser (codes kept, unknown errors masked);
 *   5. `record()`: one histogram sample and log line per operation.
 *
 * Rate: an HTTP request is charged on arrival, before its body is read, by the HTTP adapter (a
 * request that fails before it has an operation is charged too); a graphql-ws connection has no
 * request per operation, so each operation is charged in `admit`. The same limiter either way.
 */
import {
  GraphQLError,
  getOperationAST,
  getVariableValues,
  specifiedRules,
  NoSchemaIntrospectionCustomRule,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import { AppError, ErrorCode, formatError, withExtensions, type FormatOptions } from '../errors.js';
import { authorizeOperation, refusalStatus } from '../auth/authorize-operation.js';
import type { Principal } from '../auth/principal.js';
import { coerceVariables } from '../execution/coerced-variables.js';
import type { Limits } from '../limits/index.js';
import type { RecordOperation } from '../metrics/operation.recorder.js';
import { documentCache, type DocumentOf } from './document.js';
import { executor, type HotFields } from './execute.js';
import { subscribe } from './subscribe.js';

export type Transport = 'http' | 'ws';

export interface OperationRequest {
  readonly operationName?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
}

/** Who sends the operation, over what. */
export interface Caller {
  readonly transport: Transport;
  readonly principal: Principal | undefined;
  /** graphql-ws: the connection's subscriptions, counting the one being started. */
  readonly openSubscriptions?: number;
}

/** An operation refused before execution: its errors, and the status an HTTP answer carries. */
export interface Refusal {
  readonly errors: readonly GraphQLError[];
  readonly status: number;
}

export interface OperationPipeline {
  readonly schema: GraphQLSchema;
  /** graphql-js parse options: the token limit. */
  readonly parseOptions: ParseOptions;
  /** Validation rules beyond graphql-js's own: the document limits. */
  readonly validationRules: readonly ValidationRule[];
  /** Off: a document that asks for `__schema` or `__type` does not validate. */
  readonly introspection: boolean;
  /** Step 1 for a transport without a document store of its own. */
  document: DocumentOf;
  /** Step 2: the refusal, or undefined when the operation may run. Never throws for a client's input. */
  admit(document: DocumentNode, request: OperationRequest, caller: Caller): Refusal | undefined;
  /** Step 3 for queries and mutations of an admitted operation. */
  execute(args: ExecutionArgs): Promise<ExecutionResult>;
  /** Step 3 for subscriptions: the response stream, or the result with errors when it cannot start. */
  subscribe(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult, unknown, unknown> | ExecutionResult>;
  /** Step 4, for every error a client is sent. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** Step 5, when an operation's result is known (a subscription's: once it started or was refused). */
  record: RecordOperation;
}

export interface OperationPipelineOptions {
  schema: GraphQLSchema;
  limits: Limits;
  /** Lexer tokens per document; 0: no limit. */
  maxTokens: number;
  /** Whether introspection is allowed. */
  introspection: boolean;
  /** Root fields executed by graphql-jit (src/operation/execute.ts). */
  hotFields: HotFields;
  errorFormat: FormatOptions;
  record: RecordOperation;
}

/**
 * Variables that do not fit the operation, as BAD_USER_INPUT with graphql-js's messages (which
 * Apollo Server also shows): the check itself is graphql-jit's generated parser, shared with the
 * access rules and the cost estimate; graphql-js is asked only for the words of a refusal.
 */
function variableErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: OperationRequest,
): readonly GraphQLError[] | undefined {
  const operation = getOperationAST(document, request.operationName);
  if (!operation) return undefined; // execution reports an operation it cannot find
  // A query or mutation keeps the coerced values for the cost estimate and execution; a
  // subscription does not hold a copy for its lifetime.
  const remember = operation.operation !== 'subscription';
  if (!coerceVariables(schema, operation, request.variables, { remember }).errors) return undefined;
  const explained = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
  const errors = explained.errors ?? [new GraphQLError('Variables do not fit the operation.')];
  return errors.map((e) => withExtensions(e, { code: ErrorCode.BAD_USER_INPUT }));
}

export function createOperationPipeline(options: OperationPipelineOptions): OperationPipeline {
  const { schema, limits, introspection } = options;
  const parseOptions: ParseOptions = options.maxTokens > 0 ? { maxTokens: options.maxTokens } : {};
  const validationRules = limits.rules;
  const allRules = [...specifiedRules, ...validationRules, ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  const refuse = (error: GraphQLError, status = 400): Refusal => ({ errors: [error], status });

  return {
    schema,
    parseOptions,
    validationRules,
    introspection,
    document: documentCache(schema, allRules, parseOptions.maxTokens),
    admit(document, request, caller) {
      const { operationName } = request;
      const refused = authorizeOperation(schema, document, operationName, request.variables, caller.principal);
      if (refused) return refuse(refused, refusalStatus(refused));

      const type = getOperationAST(document, operationName)?.operation;
      // Apollo would execute a subscription as a query (no source event): refuse it with a pointer instead.
      if (type === 'subscription' && caller.transport === 'http')
        return refuse(
          new AppError(
            ErrorCode.OPERATION_NOT_SUPPORTED,
            'subscriptions are served over WebSocket (graphql-ws) on this path, not over HTTP POST/GET',
          ),
        );
      const max = limits.maxSubscriptionsPerConnection;
      if (max > 0 && (caller.openSubscriptions ?? 0) > max)
        return refuse(
          new AppError(ErrorCode.TOO_MANY_SUBSCRIPTIONS, `at most ${max} subscriptions per connection`, {
            details: { limit: max },
          }),
        );
      if (caller.transport === 'ws') {
        try {
          limits.charge(caller.principal, false);
        } catch (err) {
          if (err instanceof AppError) return refuse(err, 429);
          throw err;
        }
      }

      const badVariables = variableErrors(schema, document, request);
      if (badVariables) return { errors: badVariables, status: 400 };
      const costly = limits.cost(schema, document, request.variables, operationName);
      return costly ? refuse(costly) : undefined;
    },
    execute: executor(options.hotFields),
    subscribe,
    formatError: (formatted, error) => formatError(formatted, error, options.errorFormat),
    record: options.record,
  };
}
