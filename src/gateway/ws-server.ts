/**
 * graphql-ws on the gateway's HTTP server and GraphQL path. Owns the WebSocket side of the
 * connection lifecycle: credentials from `connection_init` (through the authenticator seam),
 * server-side ping/pong to find dead peers (ws-adapter.ts), error masking like the HTTP path, and a
 * shutdown that completes every subscription before closing the sockets with 1001 (going away).
 */
import type { Server } from 'node:http';
import {
  getOperationAST,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLError,
  type GraphQLFormattedError,
} from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';
import {
  acceptAllConnections,
  type ConnectionAuthenticator,
  type ConnectionCredentials,
} from '../auth/connection-auth.js';
import type { ConnectionCap } from '../limits/connection-cap.js';
import type { OperationPipeline } from '../operation/pipeline.js';
import { serveGraphqlWs, type WsExtra } from './ws-adapter.js';

export interface LiveWebSocketOptions<TContext> {
  httpServer: Server;
  path: string;
  /** Every policy of an operation: parse and validation, admission, execution, errors, the record. */
  pipeline: OperationPipeline;
  logger: Logger;
  /** Builds an operation's context from the connection's checked credentials. */
  context: (connection: { credentials: ConnectionCredentials }) => TContext;
  /** Checks `connection_init`; default: accept every connection and carry its credential along. */
  authenticate?: ConnectionAuthenticator;
  /** Open connections per subject; default: no limit. */
  connectionCap?: ConnectionCap | undefined;
  /** Server ping interval in ms; a peer that misses the pong for as long is terminated. 0 disables. */
  keepAliveMs: number;
  /** Largest client message accepted, in bytes. */
  maxPayloadBytes: number;
  /** Error details in close reasons (1011). */
  development: boolean;
  /** Ends every open subscription (the hub's completeAll); run first on dispose. */
  completeAll: () => void;
}

export interface LiveWebSocket {
  /** Open WebSocket connections right now. */
  connections(): number;
  /** Completes subscriptions, closes sockets with 1001 and stops accepting upgrades. */
  dispose(): Promise<void>;
}

type Ctx = Context<Record<string, unknown> | undefined, WsExtra>;
type Params = Record<string, unknown> | undefined;

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

  const { pipeline } = opts;
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((e) => pipeline.formatError(e.toJSON(), e));

  // When each admitted operation's subscribe message arrived, keyed by the arguments onSubscribe
  // returns (graphql-ws hands the same object to onOperation); weak, so nothing outlives them.
  const startedAt = new WeakMap<ExecutionArgs, number>();
  const refusedOperation = (
    payload: { operationName?: string | null | undefined },
    started: number,
    errors: readonly GraphQLError[],
    document?: DocumentNode,
  ): readonly GraphQLError[] => {
    pipeline.record({
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
      schema: pipeline.schema,
      execute: (args) => pipeline.execute(args),
      subscribe: (args) => pipeline.subscribe(args),
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
        const admitted = opts.connectionCap?.connected(check.credentials.principal) ?? { ok: true };
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
        const document = pipeline.document(payload.query);
        if (!('kind' in document)) return refusedOperation(payload, started, document);
        const credentials = credentialsOf.get(ctx) ?? { authorization: undefined };
        const refusal = pipeline.admit(document, payload, {
          transport: 'ws',
          principal: credentials.principal,
          openSubscriptions: Object.keys(ctx.subscriptions).length,
        });
        if (refusal) return refusedOperation(payload, started, refusal.errors, document);
        const args: ExecutionArgs = {
          schema: pipeline.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
        startedAt.set(args, started);
        return args;
      },
      onOperation: (_ctx, _id, payload, args, result) => {
        const started = startedAt.get(args);
        if (started === undefined) return undefined;
        // graphql-ws awaits execute (or subscribe) before this hook: the result is settled.
        const settled = result as Awaited<typeof result>;
        const { operationName, type } = operationOf(args.document, args.operationName ?? payload.operationName);
        const context = args.contextValue as { requestId?: unknown } | undefined;
        pipeline.record({
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
        if (credentials) opts.connectionCap?.closed(credentials.principal);
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
