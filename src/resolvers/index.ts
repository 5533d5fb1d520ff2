import type { NonEmptyArray } from 'type-graphql';
import { HealthResolver } from './health.resolver.js';
import { IngestResolver } from './ingest.resolver.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const resolvers: NonEmptyArray<Function> = [HealthResolver, IngestResolver];
