/** Per-user reads from the time-series store: bucketed series (points or columns) and cursor-paged raw readings. */
import { Arg, Args, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import type { WireMetric } from '../domain/metrics.js';
import { Metric } from './types/enums.js';
import { ReadingConnection } from './types/reading.type.js';
import { SeriesColumns, SeriesPoint } from './types/series.type.js';
import { SeriesFieldArgs, seriesArgs } from './series.args.js';

@Resolver()
export class SeriesQueryResolver {
  @Query(() => [SeriesPoint], {
    description:
      "Bucketed count/avg/min/max/sum of one user's metric over [from, to), in local hours and days of timeZone, optionally gap-filled and downsampled to maxPoints. Refused with TOO_MANY_POINTS rather than truncated.",
  })
  series(
    @Ctx() ctx: GatewayContext,
    @Arg('userId', () => ID) userId: string,
    @Args(() => SeriesFieldArgs) fieldArgs: SeriesFieldArgs,
  ): Promise<SeriesPoint[]> {
    return ctx.services.series.series(userId, seriesArgs(fieldArgs));
  }

  @Query(() => SeriesColumns, {
    description:
      'The points of `series` with the same arguments as parallel lists (times, count, avg, min, max, sum, filled), oldest first: the same buckets, values, checks and errors, in a shape cheaper to answer and to send.',
  })
  seriesColumns(
    @Ctx() ctx: GatewayContext,
    @Arg('userId', () => ID) userId: string,
    @Args(() => SeriesFieldArgs) fieldArgs: SeriesFieldArgs,
  ): Promise<SeriesColumns> {
    return ctx.services.series.seriesColumns(userId, seriesArgs(fieldArgs));
  }

  @Query(() => ReadingConnection, {
    description:
      "Raw readings of one user's metric over [from, to), oldest first, cursor paged (first: default 100, at most 1000).",
  })
  readings(
    @Ctx() ctx: GatewayContext,
    @Arg('userId', () => ID) userId: string,
    @Arg('metric', () => Metric) metric: Metric,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<ReadingConnection> {
    // Stored metrics are wire names, which are the Metric enum's internal values.
    return ctx.services.readings.readings(userId, {
      metric: metric as `${Metric}` as WireMetric,
      from,
      to,
      first,
      after,
    }) as Promise<ReadingConnection>;
  }
}
