/**
 * Live subscriptions (docs/contracts.md): `metricWindows` and `alerts`. Thin: argument checks,
 * then a subscription on the live hub (src/live), whose async iterator graphql-ws drains.
 */
import { Arg, Ctx, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { USER_ID_PATTERN } from '../domain/reading.js';
import { AppError, ErrorCode } from '../errors.js';
import type { GatewayContext } from './context.js';
import type { AlertEntry, WindowEntry } from '../live/hub.js';
import type { Delivery } from '../live/subscriber.js';
import { Alert } from './types/alert.type.js';
import { Metric } from './types/enums.js';
import { MetricWindow } from './types/window.type.js';

interface WindowArgs {
  userId: string;
  metrics?: Metric[] | null;
  after?: string | null;
  replayLast?: number | null;
}

/** Most windows `replayLast` may ask for. */
export const REPLAY_LAST_MAX = 1000;

interface AlertArgs {
  userId?: string | null;
  after?: string | null;
}

const AFTER_DESCRIPTION =
  'A cursor of this subscription (the `cursor` of the last event received): first every event published after it, in order and once each, then live ones. CURSOR_EXPIRED when the gateway no longer holds what followed it; INVALID_CURSOR for anything else.';

function checkUserId(userId: string): void {
  if (!USER_ID_PATTERN.test(userId)) {
    throw new AppError(ErrorCode.INVALID_USER_ID, 'userId: expected 1 to 64 characters of A-Z a-z 0-9 _ . : @ -');
  }
}

@Resolver()
export class SubscriptionResolver {
  @Subscription(() => MetricWindow, {
    description:
      "A user's metric windows as the Flink job closes them, from now on, or after a cursor (`after`). `metrics` limits them to some metrics.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, WindowArgs, GatewayContext>) => {
      checkUserId(args.userId);
      if (args.replayLast != null) {
        if (args.after != null)
          throw new AppError(ErrorCode.BAD_USER_INPUT, 'replayLast: give either after or replayLast');
        if (!Number.isInteger(args.replayLast) || args.replayLast < 0 || args.replayLast > REPLAY_LAST_MAX)
          throw new AppError(ErrorCode.BAD_USER_INPUT, `replayLast: expected 0 to ${REPLAY_LAST_MAX}`);
        return context.services.live.subscribeWindowsWithLast(args.userId, args.metrics, args.replayLast);
      }
      // Metric's internal values are the wire names, so the filter needs no translation.
      return context.services.live.subscribeWindows(args.userId, args.metrics, args.after);
    },
  })
  metricWindows(
    @Root() delivery: Delivery<WindowEntry>,
    @Ctx() ctx: GatewayContext,
    @Arg('userId', () => ID) _userId: string,
    @Arg('metrics', () => [Metric], { nullable: true }) _metrics?: Metric[] | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) _after?: string | null,
    @Arg('replayLast', () => Int, {
      nullable: true,
      description:
        "Start with the user's last N windows (at most 1000) that the gateway holds, then live ones: something to draw at once. Not with `after`.",
    })
    _replayLast?: number | null,
  ): MetricWindow {
    const entry = delivery.event;
    return {
      ...entry.event,
      metric: entry.event.metric as Metric,
      dropped: delivery.dropped,
      cursor: ctx.services.live.windowCursor(entry),
    };
  }

  @Subscription(() => Alert, {
    description:
      "Alerts as the Flink rules raise them, from now on or after a cursor (`after`): one user's, or everyone's without `userId`.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, AlertArgs, GatewayContext>) => {
      if (args.userId != null) checkUserId(args.userId);
      return context.services.live.subscribeAlerts(args.userId ?? null, args.after);
    },
  })
  alerts(
    @Root() delivery: Delivery<AlertEntry>,
    @Ctx() ctx: GatewayContext,
    @Arg('userId', () => ID, { nullable: true }) userId?: string | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) _after?: string | null,
  ): Alert {
    const entry = delivery.event;
    return {
      ...entry.event,
      dropped: delivery.dropped,
      cursor: ctx.services.live.alertCursor(entry, userId == null),
    };
  }
}
