/**
 * In-process fan-out from the output topics to GraphQL subscriptions. Subscribers are indexed by
 * userId (plus one set for alert subscribers without a user filter), so an event costs a map
 * lookup and a loop over the subscribers it matches, never a scan of all of them. Publishing is
 * synchronous and never waits for a subscriber (see Subscriber for the slow-client policy).
 */
import type { WireMetric } from '../domain/metrics.js';
import { RecentEmissions } from './dedup.js';
import { alertKey, windowFingerprint, windowKey, type LiveAlert, type LiveWindow } from './events.js';
import { Subscriber } from './subscriber.js';

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

type WindowSub = Subscriber<LiveWindow> & { metrics?: ReadonlySet<WireMetric> | undefined };

export class LiveHub {
  private readonly windowsByUser = new Map<string, Set<WindowSub>>();
  private readonly alertsByUser = new Map<string, Set<Subscriber<LiveAlert>>>();
  private readonly alertsForAll = new Set<Subscriber<LiveAlert>>();
  private readonly recent: RecentEmissions;
  private windowSubscribers = 0;
  private alertSubscribers = 0;
  private counters = { windowsReceived: 0, alertsReceived: 0, malformed: 0, duplicates: 0, delivered: 0, dropped: 0 };
  private closed = false;

  constructor(private readonly opts: LiveHubOptions) {
    this.recent = new RecentEmissions(opts.dedupEntries);
  }

  /** A subscription to one user's metric windows, optionally only some metrics. */
  subscribeWindows(userId: string, metrics?: readonly WireMetric[] | null): Subscriber<LiveWindow> {
    const set = getOrCreate(this.windowsByUser, userId);
    const sub: WindowSub = new Subscriber<LiveWindow>(this.opts.bufferSize, {
      onDrop: () => void (this.counters.dropped += 1),
      onClose: () => {
        set.delete(sub);
        if (set.size === 0 && this.windowsByUser.get(userId) === set) this.windowsByUser.delete(userId);
        this.windowSubscribers -= 1;
      },
    });
    sub.metrics = metrics && metrics.length > 0 ? new Set(metrics) : undefined;
    this.windowSubscribers += 1;
    set.add(sub);
    if (this.closed) sub.close();
    return sub;
  }

  /** A subscription to one user's alerts, or everyone's when `userId` is null. */
  subscribeAlerts(userId?: string | null): Subscriber<LiveAlert> {
    const set = userId ? getOrCreate(this.alertsByUser, userId) : this.alertsForAll;
    const sub = new Subscriber<LiveAlert>(this.opts.bufferSize, {
      onDrop: () => void (this.counters.dropped += 1),
      onClose: () => {
        set.delete(sub);
        if (userId && set.size === 0 && this.alertsByUser.get(userId) === set) this.alertsByUser.delete(userId);
        this.alertSubscribers -= 1;
      },
    });
    this.alertSubscribers += 1;
    set.add(sub);
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

function getOrCreate<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}
