/**
 * Cross-user aggregates answered by Trino (src/trino): `cohortStats` and `leaderboard`. A Trino
 * failure fails only these fields, with its code; the time-series fields of the same request
 * still answer. What a role other than admin may see of them is the privacy rule's (src/auth/privacy.ts).
 */
import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from '../gateway/context.js';
import type { BucketName, WireMetric } from '../domain/metrics.js';
import { AppError, ErrorCode } from '../errors.js';
import { isTrinoError } from '../trino/index.js';
import { principalOf } from '../auth/index.js';
import { CohortPoint, LeaderboardEntry } from './types/cohort.type.js';
import { Bucket, Metric } from './types/enums.js';

/** TrinoError codes are the API's codes by design (src/trino/trino.errors.ts); this makes them AppErrors. */
function toAppError(err: unknown): unknown {
  if (!isTrinoError(err)) return err;
  const code = (Object.values(ErrorCode) as string[]).includes(err.code)
    ? (err.code as ErrorCode)
    : ErrorCode.TRINO_UNAVAILABLE;
  return new AppError(code, err.message, { retriable: err.retriable, cause: err });
}

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
    try {
      const points = await ctx.services.trino.cohortStats(
        metric as `${Metric}` as WireMetric,
        from,
        to,
        bucket as `${Bucket}` as BucketName,
        { timeZone },
      );
      return [...ctx.services.privacy.cohort(principal, points)];
    } catch (err) {
      throw toAppError(err);
    }
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
    try {
      return [
        ...(await ctx.services.trino.leaderboard(metric as `${Metric}` as WireMetric, from, to, limit ?? undefined)),
      ];
    } catch (err) {
      throw toAppError(err);
    }
  }
}
