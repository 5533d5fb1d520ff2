/**
 * graphql-ws on the gateway's HTTP server and GraphQL path. Owns the WebSocket side of the
 * connection lifecycle: credentials from `connection_init` (through the authenticator seam),
 * server-side ping/pong to find dead peers (ws-adapter.ts), error masking like the HTTP path, and a
 * shutdown that completes every subscription before closing the sockets with 1001 (going away).
 */
import type { Server } from 'node:http';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import { formatError, type FormatOptions } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RecordOperation } from '../metrics/operation.recorder.js';
import {
  acceptAllConnections,
  type ConnectionAuthenticator,
  type ConnectionCredentials,
} from '../auth/connection-auth.js';
import type { LiveGuard } from '../limits/live-guard.js';
import { subscribe } from './subscribe.js';
import { serveGraphqlWs, type WsExtra } from './ws-adapter.js';

export interface LiveWebSocketOptions<TContext> {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  logger: Logger;
  /** Builds an operation's context from the connection's checked credentials. */
  context: (connection: { credentials: ConnectionCredentials }) => TContext;
  /** Authorises every root field of an operation before it runs; the refusal, or undefined. */
  authorize?: (
    credentials: ConnectionCredentials,
    document: DocumentNode,
    request: { operationName?: string | null | undefined; variables?: Record<string, unknown> | null | undefined },
  ) => GraphQLError | undefined;
  /** Checks `connection_init`; default: accept every connection and carry its credential along. */
  authenticate?: ConnectionAuthenticator;
  /** Server ping interval in ms; a peer that misses the pong for as long is terminated. 0 disables. */
  keepAliveMs: number;
  /** Largest client message accepted, in bytes. */
  maxPayloadBytes: number;
  development: boolean;
  /** The same error normalisation as HTTP; `hideSchemaDetails` also refuses introspection here. */
  errorFormat: FormatOptions;
  /** Ends every open subscription (the hub's completeAll); run first on dispose. */
  completeAll: () => void;
  /** Limits (src/limits): connections per subject, subscriptions per connection, rate, document limits. */
  guard?: LiveGuard | undefined;
  /** graphql-js parse maxTokens for subscribe documents; 0 or unset: no limit. */
  maxTokens?: number | undefined;
  /**
   * The operation recorder shared with the HTTP path (src/metrics/operation.recorder.ts): one record
   * per operation, when its result is known (for a subscription: once it started or was refused).
   * Default: nothing recorded.
   */
  recordOperation?: RecordOperation | undefined;
}

export interface LiveWebSocket {
  /** Open WebSocket connections right now. */
  connections(): number;
  /** Completes subscriptions, closes sockets with 1001 and stops accepting upgrades. */
  dispose(): Promise<void>;
}

type Ctx = Context<Record<string, unknown> | undefined, WsExtra>;
type Params = Record<string, unknown> | undefined;

/** Distinct operation texts whose parsed and validated document is kept. */
const DOCUMENT_CACHE_SIZE = 500;

/**
 * Parses and validates each distinct operation text once. Thousands of dashboards send the same
 * subscription: sharing one document saves a parse and a validation per subscribe, and the AST's
 * memory per subscriber.
 */
function documentCache(schema: GraphQLSchema, maxTokens: number | undefined, introspection: boolean) {
  // The HTTP path refuses introspection through Apollo's `introspection: false`; this is the same rule.
  const rules = introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const cache = new Map<string, DocumentNode | readonly GraphQLError[]>();
  return (query: string): DocumentNode | readonly GraphQLError[] => {
    let entry = cache.get(query);
    if (entry === undefined) {
      try {
        const document = parse(query, maxTokens ? { maxTokens } : undefined);
        const errors = validate(schema, document, rules);
        entry = errors.length > 0 ? errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED')) : document;
      } catch (err) {
        // A document nested deeply enough overflows the parser's stack: a client's mistake, not a crash.
        entry = [
          err instanceof GraphQLError
            ? withCode(err, 'GRAPHQL_PARSE_FAILED')
            : new GraphQLError('Syntax Error: the document is nested too deeply', {
                extensions: { code: 'GRAPHQL_PARSE_FAILED' },
              }),
        ];
      }
      if (cache.size >= DOCUMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      cache.set(query, entry);
    }
    return entry;
  };
}

/** graphql-js's own errors carry no code; the HTTP path (Apollo) names them, and so does this one. */
function withCode(err: GraphQLError, code: string): GraphQLError {
  if (err.extensions['code'] !== undefined) return err;
  return new GraphQLError(err.message, {
    nodes: err.nodes,
    source: err.source,
    positions: err.positions,
    path: err.path,
    originalError: err.originalError,
    extensions: { ...err.extensions, code },
  });
}

/**
 * The operation's name and type as the HTTP path reports them: the name in the document (else the
 * one the client sent), the type `unknown` when the document names no runnable operation.
 */
function operationOf(
  document: DocumentNode,
  operationName: string | null | undefined,
): { operationName: string | null | undefined; type: string } {
  const operation = getOperationAST(document, operationName);
  return { operationName: operation?.name?.value ?? operationName, type: operation?.operation ?? 'unknown' };
}

/** How long shutdown waits for each step: `complete` messages queued, then the closing handshakes. */
const COMPLETE_GRACE_MS = 1000;

export function attachLiveWebSocket<TContext>(opts: LiveWebSocketOptions<TContext>): LiveWebSocket {
  const log = opts.logger.child({ component: 'graphql-ws' });
  const authenticate = opts.authenticate ?? acceptAllConnections;
  const credentialsOf = new WeakMap<Ctx, ConnectionCredentials>();
  const open = new Set<Ctx>();
  const wss = new WebSocketServer({
    server: opts.httpServer,
    path: opts.path,
    maxPayload: opts.maxPayloadBytes,
    // Compression would hold a zlib context per socket; the adapter tracks the sockets itself.
    perMessageDeflate: false,
    clientTracking: false,
  });

  const documentFor = documentCache(opts.schema, opts.maxTokens, !opts.errorFormat.hideSchemaDetails);
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => formatError(e.toJSON(), e, opts.errorFormat));

  const record = opts.recordOperation;
  // When each admitted operation's subscribe message arrived, keyed by the arguments onSubscribe
  // returns (graphql-ws hands the same object to onOperation); weak, so nothing outlives them.
  const startedAt = new WeakMap<ExecutionArgs, number>();
  const refusedOperation = (
    payload: { operationName?: string | null | undefined },
    started: number,
    errors: readonly GraphQLError[],
    document?: DocumentNode,
  ): readonly GraphQLError[] => {
    record?.({
      transport: 'ws',
      requestId: undefined,
      ...(document
        ? operationOf(document, payload.operationName)
        : { operationName: payload.operationName, type: 'unknown' }),
      resolved: document !== undefined,
      errors,
      seconds: (performance.now() - started) / 1000,
    });
    return errors;
  };

  const server = serveGraphqlWs<Params>(
    {
      schema: opts.schema,
      subscribe,
      onConnect: async (ctx) => {
        const headers = ctx.extra.upgradeHeaders ?? {};
        // Only connection_init needs them; an open connection does not keep them.
        ctx.extra.upgradeHeaders = undefined;
        const check = await authenticate(ctx.connectionParams, headers);
        // The socket may have closed while the token was checked; onClose has run already, so a
        // slot taken now would never be given back.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        if (!check.ok) {
          log.info({ reason: check.reason }, 'connection refused');
          // Closing first makes graphql-ws's own close (4403) a no-op, so the client sees this code.
          if (check.closeCode !== undefined) ctx.extra.socket.close(check.closeCode, check.reason.slice(0, 120));
          return false; // graphql-ws closes with 4403 Forbidden
        }
        const admitted = opts.guard?.connected(check.credentials) ?? { ok: true };
        if (!admitted.ok) {
          log.info({ reason: admitted.reason }, 'connection refused');
          ctx.extra.socket.close(admitted.closeCode, admitted.reason.slice(0, 120));
          return false;
        }
        credentialsOf.set(ctx, check.credentials);
        open.add(ctx);
        return true;
      },
      // Returning ExecutionArgs replaces graphql-ws's own parse and validate; `context` still applies.
      onSubscribe: (ctx, _id, payload) => {
        const started = performance.now();
        const document = documentFor(payload.query);
        if (Array.isArray(document)) return refusedOperation(payload, started, document as readonly GraphQLError[]);
        const credentials = credentialsOf.get(ctx) ?? { authorization: undefined };
        const refused = opts.authorize?.(credentials, document as DocumentNode, payload);
        if (refused) return refusedOperation(payload, started, [refused], document as DocumentNode);
        if (opts.guard) {
          const refused = opts.guard.subscribing(
            credentials,
            document as DocumentNode,
            payload,
            Object.keys(ctx.subscriptions).length,
          );
          if (refused) return refusedOperation(payload, started, refused, document as DocumentNode);
        }
        const args: ExecutionArgs = {
          schema: opts.schema,
          document: document as DocumentNode,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
        if (record) startedAt.set(args, started);
        return args;
      },
      onOperation: (_ctx, _id, payload, args, result) => {
        const started = startedAt.get(args);
        if (!record || started === undefined) return undefined;
        // graphql-ws awaits execute (or subscribe) before this hook: the result is settled.
        const settled = result as Awaited<typeof result>;
        const { operationName, type } = operationOf(args.document, args.operationName ?? payload.operationName);
        const context = args.contextValue as { requestId?: unknown } | undefined;
        record({
          transport: 'ws',
          // A subscription's context makes its request id on first use only (thousands are held
          // open), so its record goes without one; a query or mutation has one like over HTTP.
          requestId: type !== 'subscription' && typeof context?.requestId === 'string' ? context.requestId : undefined,
          operationName,
          type,
          resolved: true,
          // A started subscription is a stream (no errors yet); a refused one, or a query's result, may carry errors.
          errors: Symbol.asyncIterator in settled ? undefined : settled.errors,
          seconds: (performance.now() - started) / 1000,
        });
        return undefined;
      },
      onClose: (ctx) => {
        open.delete(ctx);
        const credentials = credentialsOf.get(ctx);
        if (credentials) opts.guard?.closed(credentials);
      },
      context: (ctx) => opts.context({ credentials: credentialsOf.get(ctx) ?? { authorization: undefined } }) as never,
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) } : undefined,
    },
    wss,
    { keepAliveMs: opts.keepAliveMs, development: opts.development, logger: log },
  );

  return {
    connections: () => server.connections(),
    async dispose() {
      opts.completeAll();
      // Let graphql-ws send `complete` for each ended subscription before the close frame. A client
      // whose socket is stuck never gets there; the deadline keeps shutdown bounded.
      const deadline = Date.now() + COMPLETE_GRACE_MS;
      while (Date.now() < deadline && [...open].some((ctx) => Object.keys(ctx.subscriptions).length > 0)) {
        await new Promise((r) => setTimeout(r, 10));
      }
      // A peer that does not answer the closing handshake must not hold up the HTTP server's close.
      await server.close(1001, 'Going away', COMPLETE_GRACE_MS);
    },
  };
}

export { CloseCode };
