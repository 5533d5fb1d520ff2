/**
 * Cross-user aggregates answered by Trino (src/trino): `cohortStats` and `leaderboard`. A Trino failure fails only these fields, with its code; the time-series fields of
 * the same request still answer.
 */
import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import type { BucketName, WireMetric } from '../domain/metrics.js';
import { CohortPoint, LeaderboardEntry } from './types/cohort.type.js';
import { Bucket, Metric } from './types/enums.js';

@Resolver()
export class AggregateQueryResolver {
  @Query(() => [CohortPoint], {
    description:
      'Per bucket across all users, computed by Trino over the timescale catalog; cached briefly (docs/trino.md).',
  })
  async cohortStats(
    @Ctx() ctx: GatewayContext,
    @Arg('metric', () => Metric) metric: Metric,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('bucket', () => Bucket) bucket: Bucket,
    @Arg('timeZone', () => String, {
      nullable: true,
      description: 'IANA time zone (default UTC) whose local hours and days HOUR and DAY follow.',
    })
    timeZone: string | null,
  ): Promise<CohortPoint[]> {
    // A TrinoError is an AppError with its code: it fails this field only, as it is.
    return [
      ...(await ctx.services.trino.cohortStats(
        metric as `${Metric}` as WireMetric,
        from,
        to,
        bucket as `${Bucket}` as BucketName,
        { timeZone },
      )),
    ];
  }

  @Query(() => [LeaderboardEntry], {
    description:
      'Users ranked by the metric over [from, to) (sum for count-like metrics, avg otherwise); limit 1 to 1000.',
  })
  async leaderboard(
    @Ctx() ctx: GatewayContext,
    @Arg('metric', () => Metric) metric: Metric,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 10 }) limit: number | null,
  ): Promise<LeaderboardEntry[]> {
    return [
      ...(await ctx.services.trino.leaderboard(metric as `${Metric}` as WireMetric, from, to, limit ?? undefined)),
    ];
  }
}
