/**
 * The gateway's limits, built once per process from config.limits: validation rules (depth,
 * aliases, operations), the cost check (an Apollo plugin for HTTP, the live guard for
 * WebSocket), the per-subject rate limiter and the WebSocket connection/subscription caps.
 * docs/security.md lists each setting, default and error code.
 */
import { HeaderMap, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import type { Config } from '../config.js';
import { AppError, ErrorCode } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import { checkCost } from './cost.js';
import { documentRules } from './document-rules.js';
import { createLiveGuard, type LiveGuard } from './live-guard.js';
import { rateLimitedError, RateLimiter } from './rate-limit.js';

export { checkCost, operationCost, expectedLength } from './cost.js';
export { aliasLimitRule, depthLimitRule, documentRules, operationLimitRule, selectionDepth } from './document-rules.js';
export { createLiveGuard, type LiveGuard } from './live-guard.js';
export { RateLimiter, rateLimitedError } from './rate-limit.js';

export interface Limits {
  readonly rules: ValidationRule[];
  readonly rate: RateLimiter;
  /** Throws RATE_LIMITED (HTTP 429 + Retry-After) when the subject is over its rate. */
  takeHttpRequest(principal: Principal): void;
  /** The same for a request with no subject (authentication failed), charged to the client's address. */
  takeAnonymousHttpRequest(address: string): void;
  /**
   * After Apollo resolved the operation: refuses operations over the cost limit (400,
   * QUERY_TOO_COMPLEX) and subscriptions over HTTP (400, OPERATION_NOT_SUPPORTED).
   */
  costPlugin<T extends BaseContext>(): ApolloServerPlugin<T>;
  liveGuard(schema: GraphQLSchema): LiveGuard;
}

export function createLimits(limits: Config['limits'], maxPoints = Number.POSITIVE_INFINITY): Limits {
  const maxBuckets = maxPoints + 1;
  const rules = documentRules(limits);
  const rate = new RateLimiter(limits.ratePerSecond, limits.rateBurst);
  return {
    rules,
    rate,
    takeHttpRequest(principal) {
      // The development stand-in is one shared subject for every local test and benchmark.
      if (principal.development) return;
      const decision = rate.take(principal.subject);
      if (!decision.ok) throw rateLimitedError(decision.retryAfterSeconds, true);
    },
    takeAnonymousHttpRequest(address) {
      // A prefix no token subject can collide with: subjects are charged by name, addresses by this key.
      const decision = rate.take(`\u0000address:${address}`);
      if (!decision.ok) throw rateLimitedError(decision.retryAfterSeconds, true);
    },
    costPlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
      return {
        async requestDidStart() {
          return {
            async didResolveOperation(rc) {
              // Apollo would execute a subscription as a query (no source event): refuse it with a pointer instead.
              if (rc.operation?.operation === 'subscription') {
                throw withHttpStatus(
                  new AppError(
                    ErrorCode.OPERATION_NOT_SUPPORTED,
                    'subscriptions are served over WebSocket (graphql-ws) on this path, not over HTTP POST/GET',
                  ),
                  400,
                );
              }
              const err = checkCost(
                rc.schema,
                rc.document,
                rc.request.variables,
                rc.request.operationName,
                limits.maxCost,
                maxBuckets,
              );
              if (err) throw withHttpStatus(err, 400);
            },
          };
        },
      };
    },
    liveGuard: (schema) =>
      createLiveGuard({
        schema,
        rules,
        maxCost: limits.maxCost,
        maxBuckets,
        maxSubscriptionsPerConnection: limits.maxSubscriptionsPerConnection,
        maxConnectionsPerSubject: limits.maxConnectionsPerSubject,
        rate,
      }),
  };
}

/** The same error with an HTTP status for Apollo (which strips `http` before the client sees it). */
export function withHttpStatus(err: AppError, status: number, headers: [string, string][] = []): AppError {
  const { code: _code, ...rest } = err.extensions;
  return new AppError(err.code, err.message, {
    details: { ...rest, http: { status, headers: new HeaderMap(headers) } },
  });
}
