/**
 * In-process fan-out from the output topics to GraphQL subscriptions. Subscribers are indexed by
 * userId (plus one set for alert subscribers without a user filter), so an event costs a map
 * lookup and a loop over the subscribers it matches, never a scan of all of them. Publishing is
 * synchronous and never waits for a subscriber (see Subscriber for the slow-client policy).
 */
import type { WireMetric } from '../domain/metrics.js';
import { RecentEmissions } from './dedup.js';
import { alertKey, windowFingerprint, windowKey, type LiveAlert, type LiveWindow } from './events.js';
import { Subscriber, type SubscriberHooks } from './subscriber.js';

export interface LiveHubOptions {
  /** Events held per subscriber before the oldest are dropped. */
  bufferSize: number;
  /** Window and alert identities remembered for de-duplication. */
  dedupEntries: number;
}

export interface LiveStats {
  /** Open subscriptions, both kinds. */
  subscribers: number;
  windowSubscribers: number;
  alertSubscribers: number;
  /** Users with at least one window or alert subscription. */
  users: number;
  windowsReceived: number;
  alertsReceived: number;
  /** Messages on the output topics that were not valid metric window v1 / alert v1. */
  malformed: number;
  /** Repeats from the output topics that were not delivered again. */
  duplicates: number;
  /** Event copies handed to subscribers' queues. */
  delivered: number;
  /** Event copies dropped because a subscriber's queue was full. */
  dropped: number;
  /** Events waiting in subscribers' queues right now, and the fullest queue. */
  buffered: number;
  maxBuffered: number;
}

/** A window subscription, optionally limited to some metrics. */
class WindowSubscriber extends Subscriber<LiveWindow> {
  constructor(
    capacity: number,
    hooks: SubscriberHooks<LiveWindow>,
    userId: string,
    readonly metrics: ReadonlySet<WireMetric> | undefined,
  ) {
    super(capacity, hooks, userId);
  }
}

export class LiveHub {
  private readonly windowsByUser = new Map<string, Set<WindowSubscriber>>();
  private readonly alertsByUser = new Map<string, Set<Subscriber<LiveAlert>>>();
  private readonly alertsForAll = new Set<Subscriber<LiveAlert>>();
  private readonly recent: RecentEmissions;
  private windowSubscribers = 0;
  private alertSubscribers = 0;
  private counters = { windowsReceived: 0, alertsReceived: 0, malformed: 0, duplicates: 0, delivered: 0, dropped: 0 };
  private closed = false;

  // One hooks object per kind serves every subscriber of that kind (no closures per subscriber).
  private readonly windowHooks: SubscriberHooks<LiveWindow> = {
    onDrop: () => void (this.counters.dropped += 1),
    onClose: (sub) => {
      removeFrom(this.windowsByUser, sub.userId!, sub as WindowSubscriber);
      this.windowSubscribers -= 1;
    },
  };
  private readonly alertHooks: SubscriberHooks<LiveAlert> = {
    onDrop: () => void (this.counters.dropped += 1),
    onClose: (sub) => {
      if (sub.userId === undefined) this.alertsForAll.delete(sub);
      else removeFrom(this.alertsByUser, sub.userId, sub);
      this.alertSubscribers -= 1;
    },
  };

  constructor(private readonly opts: LiveHubOptions) {
    this.recent = new RecentEmissions(opts.dedupEntries);
  }

  /** A subscription to one user's metric windows, optionally only some metrics. */
  subscribeWindows(userId: string, metrics?: readonly WireMetric[] | null): Subscriber<LiveWindow> {
    const only = metrics && metrics.length > 0 ? new Set(metrics) : undefined;
    const sub = new WindowSubscriber(this.opts.bufferSize, this.windowHooks, userId, only);
    this.windowSubscribers += 1;
    getOrCreate(this.windowsByUser, userId).add(sub);
    if (this.closed) sub.close();
    return sub;
  }

  /** A subscription to one user's alerts, or everyone's when `userId` is null. */
  subscribeAlerts(userId?: string | null): Subscriber<LiveAlert> {
    const sub = new Subscriber<LiveAlert>(this.opts.bufferSize, this.alertHooks, userId || undefined);
    this.alertSubscribers += 1;
    (sub.userId === undefined ? this.alertsForAll : getOrCreate(this.alertsByUser, sub.userId)).add(sub);
    if (this.closed) sub.close();
    return sub;
  }

  publishWindow(w: LiveWindow): void {
    this.counters.windowsReceived += 1;
    const subs = this.windowsByUser.get(w.userId);
    // Nobody watches this user here: nothing to deliver and nothing worth remembering.
    if (!subs) return;
    if (this.recent.isRepeat(windowKey(w), windowFingerprint(w))) {
      this.counters.duplicates += 1;
      return;
    }
    for (const sub of subs) {
      if (sub.metrics && !sub.metrics.has(w.metric)) continue;
      this.counters.delivered += 1;
      sub.push(w);
    }
  }

  publishAlert(a: LiveAlert): void {
    this.counters.alertsReceived += 1;
    const subs = this.alertsByUser.get(a.userId);
    if (!subs && this.alertsForAll.size === 0) return;
    if (this.recent.isRepeat(alertKey(a), '')) {
      this.counters.duplicates += 1;
      return;
    }
    if (subs) for (const sub of subs) this.deliver(sub, a);
    for (const sub of this.alertsForAll) this.deliver(sub, a);
  }

  countMalformed(): void {
    this.counters.malformed += 1;
  }

  /** Completes every subscription (shutdown); later subscriptions complete at once. */
  completeAll(): void {
    this.closed = true;
    for (const set of [...this.windowsByUser.values()]) for (const sub of [...set]) sub.close();
    for (const set of [...this.alertsByUser.values()]) for (const sub of [...set]) sub.close();
    for (const sub of [...this.alertsForAll]) sub.close();
  }

  stats(): LiveStats {
    let buffered = 0;
    let maxBuffered = 0;
    const visit = (sub: { buffered: number }) => {
      buffered += sub.buffered;
      if (sub.buffered > maxBuffered) maxBuffered = sub.buffered;
    };
    for (const set of this.windowsByUser.values()) set.forEach(visit);
    for (const set of this.alertsByUser.values()) set.forEach(visit);
    this.alertsForAll.forEach(visit);
    const users = new Set([...this.windowsByUser.keys(), ...this.alertsByUser.keys()]).size;
    return {
      subscribers: this.windowSubscribers + this.alertSubscribers,
      windowSubscribers: this.windowSubscribers,
      alertSubscribers: this.alertSubscribers,
      users,
      ...this.counters,
      buffered,
      maxBuffered,
    };
  }

  private deliver(sub: Subscriber<LiveAlert>, a: LiveAlert): void {
    this.counters.delivered += 1;
    sub.push(a);
  }
}

/** Removes `value` from `key`'s set, and the set once it is empty. */
function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

function getOrCreate<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}
