import type { NonEmptyArray } from 'type-graphql';
import { HealthResolver } from './health.resolver.js';
import { IngestResolver } from './ingest.resolver.js';
import { ErasureResolver } from './erasure.resolver.js';
import { AggregateQueryResolver } from './query.aggregates.resolver.js';
import { SeriesQueryResolver } from './query.resolver.js';
import { SubscriptionResolver } from './subscription.resolver.js';
import { UserResolver } from './user.resolver.js';
import { StatusResolver } from './status.resolver.js';
import { HistoryQueryResolver } from './history.resolver.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const resolvers: NonEmptyArray<Function> = [
  HealthResolver,
  IngestResolver,
  ErasureResolver,
  SeriesQueryResolver,
  HistoryQueryResolver,
  AggregateQueryResolver,
  UserResolver,
  SubscriptionResolver,
  StatusResolver,
];
