/**
 * Cross-user aggregates answered by Trino (src/trino): `cohortStats` and `leaderboard`. A Trino
 * failure fails only these fields, with its code; the time-series fields of the same request
 * still answer. What a role other than admin may see of them is the privacy rule's (src/auth/privacy.ts).
 */
import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import type { BucketName, WireMetric } from '../domain/metrics.js';
import { principalOf } from '../auth/index.js';
import { CohortPoint, LeaderboardEntry } from './types/cohort.type.js';
import { Bucket, Metric } from './types/enums.js';

@Resolver()
export class AggregateQueryResolver {
  @Query(() => [CohortPoint], {
    description:
      'Per bucket across all users (HOUR and DAY in local hours and days of timeZone), computed by Trino over the timescale catalog; cached briefly (docs/trino.md).',
  })
  async cohortStats(
    @Ctx() ctx: GatewayContext,
    @Arg('metric', () => Metric) metric: Metric,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('bucket', () => Bucket) bucket: Bucket,
    @Arg('timeZone', () => String, {
      nullable: true,
      defaultValue: 'UTC',
      description: 'IANA time zone of HOUR and DAY buckets (as in series). Unknown zones fail with INVALID_TIME_ZONE.',
    })
    timeZone: string | null,
  ): Promise<CohortPoint[]> {
    const principal = principalOf(ctx);
    ctx.services.privacy.checkRange(principal, from, to);
    // A TrinoError is an AppError: it reaches the client with its code as thrown.
    const points = await ctx.services.trino.cohortStats(
      metric as `${Metric}` as WireMetric,
      from,
      to,
      bucket as `${Bucket}` as BucketName,
      { timeZone },
    );
    return [...ctx.services.privacy.cohort(principal, points)];
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
    ctx.services.privacy.checkRange(principalOf(ctx), from, to);
    return [
      ...(await ctx.services.trino.leaderboard(metric as `${Metric}` as WireMetric, from, to, limit ?? undefined)),
    ];
  }
}
