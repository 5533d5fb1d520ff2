/**
 * Limits on the WebSocket side: connections per subject, subscriptions per connection, the
 * per-subject rate (one token per subscribe) and the same document limits as HTTP (depth,
 * aliases, operations, cost), applied by src/gateway/ws-server.ts through its `guard` option.
 */
import {
  getOperationAST,
  getVariableValues,
  validate,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { AppError, ErrorCode } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import type { ConnectionCredentials } from '../auth/connection-auth.js';
import { checkCost } from './cost.js';
import { rateLimitedError, type RateLimiter } from './rate-limit.js';

export interface LiveGuard {
  /** After authentication: may refuse the connection with a close code. */
  connected(credentials: ConnectionCredentials): { ok: true } | { ok: false; closeCode: number; reason: string };
  /** Errors to answer a subscribe with, or undefined to let it run. */
  subscribing(
    credentials: ConnectionCredentials,
    document: DocumentNode,
    request: { operationName?: string | null | undefined; variables?: Record<string, unknown> | null | undefined },
    /** Subscriptions of this connection, counting the one being started. */
    openSubscriptions: number,
  ): readonly GraphQLError[] | undefined;
  /** The connection closed after `connected` let it in. */
  closed(credentials: ConnectionCredentials): void;
  /** Open connections per subject (development principal not counted). */
  connectionsBySubject(): ReadonlyMap<string, number>;
}

export interface LiveGuardOptions {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[];
  maxCost: number;
  maxBuckets: number;
  maxSubscriptionsPerConnection: number;
  maxConnectionsPerSubject: number;
  rate: RateLimiter;
}

const principalOf = (c: ConnectionCredentials): Principal | undefined => c.principal;

export function createLiveGuard(opts: LiveGuardOptions): LiveGuard {
  const connections = new Map<string, number>();
  // ws-server hands over the same document object for the same operation text, so rule results are shared.
  const ruleErrors = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  const counted = (p: Principal | undefined): p is Principal => p !== undefined && !p.development;

  return {
    connected(credentials) {
      const p = principalOf(credentials);
      if (!counted(p) || opts.maxConnectionsPerSubject <= 0) return { ok: true };
      const n = connections.get(p.subject) ?? 0;
      if (n >= opts.maxConnectionsPerSubject) {
        // graphql-ws's Forbidden; the reason carries this limit's code for the client.
        return {
          ok: false,
          closeCode: CloseCode.Forbidden,
          reason: `${ErrorCode.TOO_MANY_CONNECTIONS}: at most ${opts.maxConnectionsPerSubject} per subject`,
        };
      }
      connections.set(p.subject, n + 1);
      return { ok: true };
    },
    subscribing(credentials, document, request, openSubscriptions) {
      let errors = ruleErrors.get(document);
      if (!errors) {
        errors = opts.rules.length > 0 ? validate(opts.schema, document, [...opts.rules]) : [];
        ruleErrors.set(document, errors);
      }
      if (errors.length > 0) return errors;
      if (opts.maxSubscriptionsPerConnection > 0 && openSubscriptions > opts.maxSubscriptionsPerConnection) {
        return [
          new AppError(
            ErrorCode.TOO_MANY_SUBSCRIPTIONS,
            `at most ${opts.maxSubscriptionsPerConnection} subscriptions per connection`,
            {
              details: { limit: opts.maxSubscriptionsPerConnection },
            },
          ),
        ];
      }
      const p = principalOf(credentials);
      if (counted(p)) {
        const decision = opts.rate.take(p.subject);
        if (!decision.ok) return [rateLimitedError(decision.retryAfterSeconds, false)];
      }
      // graphql-js reports variables that do not fit without a code; HTTP (Apollo) says BAD_USER_INPUT, and so does this.
      const operation = getOperationAST(document, request.operationName);
      if (operation) {
        const coerced = getVariableValues(opts.schema, operation.variableDefinitions ?? [], request.variables ?? {});
        if (coerced.errors) {
          return coerced.errors.map((e) => new AppError(ErrorCode.BAD_USER_INPUT, e.message));
        }
      }
      const costly = checkCost(
        opts.schema,
        document,
        request.variables ?? undefined,
        request.operationName,
        opts.maxCost,
        opts.maxBuckets,
      );
      return costly ? [costly] : undefined;
    },
    closed(credentials) {
      const p = principalOf(credentials);
      if (!counted(p) || opts.maxConnectionsPerSubject <= 0) return;
      const n = (connections.get(p.subject) ?? 1) - 1;
      if (n <= 0) connections.delete(p.subject);
      else connections.set(p.subject, n);
    },
    connectionsBySubject: () => connections,
  };
}
