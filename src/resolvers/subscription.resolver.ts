/**
 * Live subscriptions (docs/contracts.md): `metricWindows` and `alerts`. Thin: argument checks,
 * then a subscription on the live hub (src/live), whose async iterator graphql-ws drains.
 */
import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { USER_ID_PATTERN } from '../domain/reading.js';
import { AppError, ErrorCode } from '../errors.js';
import type { GatewayContext } from '../gateway/context.js';
import type { LiveAlert, LiveWindow } from '../live/events.js';
import type { Delivery } from '../live/subscriber.js';
import { Alert } from './types/alert.type.js';
import { Metric } from './types/enums.js';
import { MetricWindow } from './types/window.type.js';

interface WindowArgs {
  userId: string;
  metrics?: Metric[] | null;
}

function checkUserId(userId: string): void {
  if (!USER_ID_PATTERN.test(userId)) {
    throw new AppError(ErrorCode.INVALID_USER_ID, 'userId: expected 1 to 64 characters of A-Z a-z 0-9 _ . : @ -');
  }
}

@Resolver()
export class SubscriptionResolver {
  @Subscription(() => MetricWindow, {
    description:
      "A user's metric windows as the Flink job closes them, from now on. `metrics` limits them to some metrics.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, WindowArgs, GatewayContext>) => {
      checkUserId(args.userId);
      // Metric's internal values are the wire names, so the filter needs no translation.
      return context.services.live.subscribeWindows(args.userId, args.metrics);
    },
  })
  metricWindows(
    @Root() delivery: Delivery<LiveWindow>,
    @Arg('userId', () => ID) _userId: string,
    @Arg('metrics', () => [Metric], { nullable: true }) _metrics?: Metric[] | null,
  ): MetricWindow {
    return { ...delivery.event, metric: delivery.event.metric as Metric, dropped: delivery.dropped };
  }

  @Subscription(() => Alert, {
    description: "Alerts as the Flink rules raise them, from now on: one user's, or everyone's without `userId`.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { userId?: string | null }, GatewayContext>) => {
      if (args.userId != null) checkUserId(args.userId);
      return context.services.live.subscribeAlerts(args.userId ?? null);
    },
  })
  alerts(
    @Root() delivery: Delivery<LiveAlert>,
    @Arg('userId', () => ID, { nullable: true }) _userId?: string | null,
  ): Alert {
    return { ...delivery.event, dropped: delivery.dropped };
  }
}
