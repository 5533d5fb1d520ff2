/**
 * type-graphql refuses to build a schema with subscriptions unless a PubSub is given, even when
 * every @Subscription has its own `subscribe` function (ours read the live hub). This one is never
 * used; if a topic-based @Subscription is ever added, it fails loudly instead of silently idling.
 */
import type { PubSub } from 'type-graphql';

export const noPubSub: PubSub = {
  publish(routingKey) {
    throw new Error(
      `no PubSub: publish to "${routingKey}" is not supported; subscriptions read the live hub (src/live)`,
    );
  },
  subscribe(routingKey) {
    throw new Error(
      `no PubSub: subscribe to "${routingKey}" is not supported; give the @Subscription a subscribe function`,
    );
  },
};
