import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GatewayContext } from '../gateway/context.js';
import { IngestResult, ReadingInput } from './types/ingest.type.js';

@Resolver()
export class IngestResolver {
  @Mutation(() => IngestResult, {
    description: 'Validates and publishes readings to Kafka; answers after Kafka acknowledged every accepted one.',
  })
  ingestReadings(
    @Arg('readings', () => [ReadingInput]) readings: ReadingInput[],
    @Ctx() ctx: GatewayContext,
  ): Promise<IngestResult> {
    return ctx.services.ingest.ingest(readings, ctx.requestId);
  }
}
