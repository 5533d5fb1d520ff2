/** Builds the executable schema from the type-graphql classes; `schema.graphql` is its printed form. */
import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { resolvers } from '../resolvers/index.js';
import { DateTimeScalar } from '../resolvers/types/scalars.js';
import { noPubSub } from '../live/no-pubsub.js';

let built: GraphQLSchema | undefined;

export function buildGatewaySchema(): GraphQLSchema {
  built ??= buildSchemaSync({
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // Inputs are checked by hand-written validators (src/domain); reflection validators are off.
    validate: false,
    // Subscriptions bring their own `subscribe` functions (src/live); type-graphql still wants one.
    pubSub: noPubSub,
  });
  return built;
}

export function printGatewaySchema(): string {
  return printSchema(lexicographicSortSchema(buildGatewaySchema())) + '\n';
}
