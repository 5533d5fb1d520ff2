import { Arg, Ctx, Float, ID, Mutation, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import { IngestResult, ReadingInput } from './types/ingest.type.js';
import { Metric } from './types/enums.js';
import { DateTimeScalar } from './types/scalars.js';

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

  @Mutation(() => IngestResult, {
    description:
      "One user's metric as parallel arrays (reading i is times[i], values[i]), the shape of a device's intraday sync. The rules of ingestReadings apply; rejected indexes into the arrays; arrays of different lengths are refused with INVALID_INPUT.",
  })
  ingestSeries(
    @Arg('userId', () => ID) userId: string,
    @Arg('metric', () => Metric) metric: Metric,
    @Arg('times', () => [DateTimeScalar]) times: Date[],
    @Arg('values', () => [Float]) values: number[],
    @Ctx() ctx: GatewayContext,
    @Arg('deviceId', () => String, { nullable: true }) deviceId?: string | null,
  ): Promise<IngestResult> {
    return ctx.services.ingest.ingestSeries({ userId, metric, deviceId, times, values }, ctx.requestId);
  }
}
