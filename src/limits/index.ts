/**
 * The gateway's limits, built once per process from config.limits: validation rules (depth,
 * aliases, operations), the cost estimate, the per-subject rate and the WebSocket connection cap.
 * The operation pipeline (src/operation/pipeline.ts) applies them to every operation whichever
 * transport carried it; docs/security.md lists each setting, default and error code.
 */
import { HeaderMap } from '@apollo/server';
import type { DocumentNode, GraphQLSchema, ValidationRule } from 'graphql';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import { checkCost } from './cost.js';
import { documentRules } from './document-rules.js';
import { createConnectionCap, type ConnectionCap } from './connection-cap.js';
import { rateLimitedError, RateLimiter } from './rate-limit.js';

export { checkCost, operationCost, expectedLength } from './cost.js';
export { aliasLimitRule, depthLimitRule, documentRules, operationLimitRule, selectionDepth } from './document-rules.js';
export { createConnectionCap, type ConnectionCap } from './connection-cap.js';
export { RateLimiter, rateLimitedError } from './rate-limit.js';

export interface Limits {
  /** Depth, aliases and operations per document: validation rules, so both transports refuse alike. */
  readonly rules: readonly ValidationRule[];
  readonly rate: RateLimiter;
  /** Subscriptions one graphql-ws connection may hold at once (0: no limit). */
  readonly maxSubscriptionsPerConnection: number;
  /**
   * Takes one request from the subject's rate. Throws RATE_LIMITED; with `http` its status is 429
   * with a Retry-After header. The development stand-in (one shared subject for every local test
   * and benchmark) and callers without a subject are not counted here.
   */
  charge(principal: Principal | undefined, http: boolean): void;
  /** The same for an HTTP request with no subject (authentication failed), charged to the client's address. */
  chargeAnonymous(address: string): void;
  /** QUERY_TOO_COMPLEX when the operation's estimated cost is over the limit, else undefined. */
  cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Record<string, unknown> | null | undefined,
    operationName: string | null | undefined,
  ): AppError | undefined;
  /** The connections-per-subject cap of the WebSocket transport. */
  connectionCap(): ConnectionCap;
}

export function createLimits(limits: Config['limits'], maxPoints = Number.POSITIVE_INFINITY): Limits {
  const maxBuckets = maxPoints + 1;
  const rules = documentRules(limits);
  const rate = new RateLimiter(limits.ratePerSecond, limits.rateBurst);
  return {
    rules,
    rate,
    maxSubscriptionsPerConnection: limits.maxSubscriptionsPerConnection,
    charge(principal, http) {
      if (!principal || principal.development) return;
      const decision = rate.take(principal.subject);
      if (!decision.ok) throw rateLimitedError(decision.retryAfterSeconds, http);
    },
    chargeAnonymous(address) {
      // A prefix no token subject can collide with: subjects are charged by name, addresses by this key.
      const decision = rate.take(`\u0000address:${address}`);
      if (!decision.ok) throw rateLimitedError(decision.retryAfterSeconds, true);
    },
    cost: (schema, document, variables, operationName) =>
      checkCost(schema, document, variables ?? undefined, operationName, limits.maxCost, maxBuckets),
    connectionCap: () => createConnectionCap(limits.maxConnectionsPerSubject),
  };
}

/** The same error with an HTTP status for Apollo (which strips `http` before the client sees it). */
export function withHttpStatus(err: AppError, status: number, headers: [string, string][] = []): AppError {
  const { code: _code, ...rest } = err.extensions;
  return new AppError(err.code, err.message, {
    details: { ...rest, http: { status, headers: new HeaderMap(headers) } },
  });
}
