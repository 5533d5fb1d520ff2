/**
 * The job's stored output read back: `windows` and `alerts` on Query (docs/live.md). Each event
 * carries the cursor a subscription would have given it, so a client can read what it missed and
 * subscribe after the last one.
 */
import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { WireMetric } from '../domain/metrics.js';
import type { GatewayContext } from './context.js';
import { Alert } from './types/alert.type.js';
import { Metric } from './types/enums.js';
import { MetricWindow } from './types/window.type.js';

@Resolver()
export class HistoryQueryResolver {
  @Query(() => [MetricWindow], {
    description:
      "A user's metric windows starting in [from, to), as the Flink job published them (each once, oldest first). `metrics` limits them to some metrics. Refused with TOO_MANY_POINTS past the row limit.",
  })
  async windows(
    @Ctx() ctx: GatewayContext,
    @Arg('userId', () => ID) userId: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('metrics', () => [Metric], { nullable: true }) metrics?: Metric[] | null,
  ): Promise<MetricWindow[]> {
    // Metric's internal values are the wire names.
    const stored = await ctx.services.history.windows(userId, (metrics ?? null) as WireMetric[] | null, from, to);
    return stored.map((s) => ({
      ...s.event,
      metric: s.event.metric as Metric,
      dropped: 0,
      cursor: ctx.services.live.storedCursor('window', s.event.userId, s.partition, s.offset),
    }));
  }

  @Query(() => [Alert], {
    description:
      "Alerts timed in [from, to), as the Flink rules raised them (each once, oldest first): one user's, or everyone's without `userId`.",
  })
  async alerts(
    @Ctx() ctx: GatewayContext,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('userId', () => ID, { nullable: true }) userId?: string | null,
  ): Promise<Alert[]> {
    const stored = await ctx.services.history.alerts(userId ?? null, from, to);
    return stored.map((s) => ({
      ...s.event,
      dropped: 0,
      cursor: ctx.services.live.storedCursor('alert', s.event.userId, s.partition, s.offset),
    }));
  }
}
