/**
 * Applies the access rules (policy.ts) to every root field of the executable schema, so one place
 * guards HTTP and WebSocket, queries, mutations and subscriptions alike, before any service runs.
 * Nested fields (User.series, User.latest) are only reachable through the guarded `user`/`users`.
 *
 * Subscriptions are checked twice: the arguments when subscribing, and every delivered event's
 * userId, so a subscription never hands over another user's event even if an upstream filter
 * were wrong.
 */
import {
  defaultFieldResolver,
  GraphQLObjectType,
  GraphQLSchema,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
} from 'graphql';
import { AppError, ErrorCode } from '../errors.js';
import type { Principal } from './principal.js';
import { eventUserId, mayRead, ruleFor } from './policy.js';
import { hasRole } from './principal.js';

interface WithPrincipal {
  principal?: Principal | undefined;
}

/** The context's principal, still valid now; a WebSocket connection can outlive its token. */
export function principalOf(context: unknown, now = Date.now()): Principal {
  const principal = (context as WithPrincipal | null)?.principal;
  if (!principal)
    throw new AppError(ErrorCode.UNAUTHENTICATED, 'authentication required', { details: { reason: 'missing' } });
  if (principal.expiresAt !== undefined && principal.expiresAt < now) {
    throw new AppError(ErrorCode.UNAUTHENTICATED, 'token expired; reconnect with a fresh token', {
      details: { reason: 'expired' },
    });
  }
  return principal;
}

function filterIterator<T>(source: AsyncIterator<T>, keep: (value: T) => boolean): AsyncIterableIterator<T> {
  return {
    async next() {
      for (;;) {
        const r = await source.next();
        if (r.done || keep(r.value)) return r;
      }
    },
    return: (value?: unknown) =>
      source.return ? source.return(value) : Promise.resolve({ done: true as const, value: undefined }),
    throw: (err?: unknown) =>
      source.throw ? source.throw(err) : Promise.reject(err instanceof Error ? err : new Error(String(err))),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function guardFields(type: GraphQLObjectType, kind: 'query' | 'mutation' | 'subscription'): GraphQLObjectType {
  const config = type.toConfig();
  const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
  for (const [name, field] of Object.entries(config.fields)) {
    const rule = ruleFor(`${type.name}.${name}`);
    const guarded: GraphQLFieldConfig<unknown, unknown> = { ...field };
    if (kind === 'subscription') {
      const subscribe = field.subscribe;
      guarded.subscribe = async (source, args, context, info) => {
        const principal = principalOf(context);
        rule(principal, args);
        const result: unknown = await subscribe?.(source, args, context, info);
        if (!result || typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') return result;
        if (hasRole(principal, 'admin')) return result;
        const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
        return filterIterator(iterator, (value) => {
          const userId = eventUserId(value);
          return userId !== undefined && mayRead(principal, userId);
        });
      };
    } else {
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      guarded.resolve = (source, args, context, info) => {
        rule(principalOf(context), args);
        return resolve(source, args, context, info);
      };
    }
    fields[name] = guarded;
  }
  return new GraphQLObjectType({ ...config, fields });
}

const protectedSchemas = new WeakMap<GraphQLSchema, GraphQLSchema>();

/** A copy of `schema` whose root fields check the principal in the context first. */
export function protectSchema(schema: GraphQLSchema): GraphQLSchema {
  const cached = protectedSchemas.get(schema);
  if (cached) return cached;
  const config = schema.toConfig();
  const replaced = new Map<GraphQLNamedType, GraphQLObjectType>();
  const swap = (t: GraphQLObjectType | null | undefined, kind: 'query' | 'mutation' | 'subscription') => {
    if (!t) return undefined;
    const g = guardFields(t, kind);
    replaced.set(t, g);
    return g;
  };
  const query = swap(config.query, 'query');
  const mutation = swap(config.mutation, 'mutation');
  const subscription = swap(config.subscription, 'subscription');
  const result = new GraphQLSchema({
    ...config,
    query,
    mutation,
    subscription,
    types: config.types.map((t) => replaced.get(t) ?? t),
  });
  protectedSchemas.set(schema, result);
  return result;
}

/** Root fields that have no rule of their own (admin-only until classified); logged at start. */
export function unclassifiedRootFields(schema: GraphQLSchema, known: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const t of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!t) continue;
    for (const name of Object.keys(t.getFields())) if (!(`${t.name}.${name}` in known)) out.push(`${t.name}.${name}`);
  }
  return out;
}
