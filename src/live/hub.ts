/**
 * In-process fan-out from the output topics to GraphQL subscriptions. Subscribers are indexed by
 * userId (plus one set for alert subscribers without a user filter), so an event costs a map
 * lookup and a loop over the subscribers it matches, never a scan of all of them. Publishing is
 * synchronous and never waits for a subscriber (see Subscriber for the slow-client policy).
 */
import type { WireMetric } from '../domain/metrics.js';
import { AppError, ErrorCode } from '../errors.js';
import type { CursorPosition } from './cursor.js';
import { RecentEmissions } from './dedup.js';
import { alertKey, windowFingerprint, windowKey, type LiveAlert, type LiveWindow } from '../domain/events.js';
import { ReplayLog, type LogEntry } from './replay-log.js';
import type { ErasureLedger } from './erasure-ledger.js';
import { Subscriber, type SubscriberHooks } from './subscriber.js';

export interface LiveHubOptions {
  /** Events held per subscriber before the oldest are dropped. */
  bufferSize: number;
  /** Window and alert identities remembered for de-duplication. */
  dedupEntries: number;
  /** Events kept per partition of each output topic for subscriptions resumed with a cursor. */
  replayPerPartition: number;
  /**
   * Erased users (docs/privacy.md): their held events appended before the erasure are not
   * replayed. Default: nobody is erased.
   */
  erasures?: ErasureLedger;
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
  /** Subscriptions resumed from a cursor, and the events replayed to them. */
  resumed: number;
  replayed: number;
  /** Events held for replay, both topics. */
  replayHeld: number;
}

export type WindowEntry = LogEntry<LiveWindow>;
export type AlertEntry = LogEntry<LiveAlert>;

/**
 * A subscription on the hub. Without a cursor it receives what is published after the gateway
 * started; resumed, what comes after the cursor's offsets (replayed first, then live).
 */
class HubSubscriber<T> extends Subscriber<LogEntry<T>> {
  constructor(
    capacity: number,
    hooks: SubscriberHooks<LogEntry<T>>,
    userId: string | undefined,
    /** The cursor's offsets; undefined for a subscription from now on. */
    readonly after: ReadonlyMap<number, number> | undefined,
  ) {
    super(capacity, hooks, userId);
  }
}

/** A window subscription, optionally limited to some metrics. */
class WindowSubscriber extends HubSubscriber<LiveWindow> {
  constructor(
    capacity: number,
    hooks: SubscriberHooks<WindowEntry>,
    userId: string,
    readonly metrics: ReadonlySet<WireMetric> | undefined,
    after: ReadonlyMap<number, number> | undefined,
  ) {
    super(capacity, hooks, userId, after);
  }
}

type AlertSubscriber = HubSubscriber<LiveAlert>;

export class LiveHub {
  private readonly windowsByUser = new Map<string, Set<WindowSubscriber>>();
  private readonly alertsByUser = new Map<string, Set<AlertSubscriber>>();
  private readonly alertsForAll = new Set<AlertSubscriber>();
  private readonly recent: RecentEmissions;
  private readonly windowLog: ReplayLog<LiveWindow>;
  private readonly alertLog: ReplayLog<LiveAlert>;
  private windowSubscribers = 0;
  private alertSubscribers = 0;
  private counters = {
    windowsReceived: 0,
    alertsReceived: 0,
    malformed: 0,
    duplicates: 0,
    delivered: 0,
    dropped: 0,
    resumed: 0,
    replayed: 0,
  };
  private closed = false;

  // One hooks object per kind serves every subscriber of that kind (no closures per subscriber).
  private readonly windowHooks: SubscriberHooks<WindowEntry> = {
    onDrop: () => void (this.counters.dropped += 1),
    onClose: (sub) => {
      removeFrom(this.windowsByUser, sub.userId!, sub as WindowSubscriber);
      this.windowSubscribers -= 1;
    },
  };
  private readonly alertHooks: SubscriberHooks<AlertEntry> = {
    onDrop: () => void (this.counters.dropped += 1),
    onClose: (sub) => {
      if (sub.userId === undefined) this.alertsForAll.delete(sub as AlertSubscriber);
      else removeFrom(this.alertsByUser, sub.userId, sub as AlertSubscriber);
      this.alertSubscribers -= 1;
    },
  };

  constructor(private readonly opts: LiveHubOptions) {
    this.recent = new RecentEmissions(opts.dedupEntries);
    this.windowLog = new ReplayLog(opts.replayPerPartition);
    this.alertLog = new ReplayLog(opts.replayPerPartition);
  }

  /**
   * Declares where the consumer starts reading a partition (`from`) and where the topic ended when
   * the gateway started (`liveFrom`). Called before the first event of that partition.
   */
  openPartition(kind: 'window' | 'alert', partition: number, from: number, liveFrom: number): void {
    (kind === 'window' ? this.windowLog : this.alertLog).open(partition, from, liveFrom);
  }

  /**
   * A subscription to one user's metric windows, optionally only some metrics. With `after`, every
   * held window after the cursor is replayed first, then live ones follow with no gap: both happen
   * in this synchronous call, and publishing is synchronous too. Throws CURSOR_EXPIRED when the
   * replay log no longer reaches back to the cursor.
   */
  subscribeWindows(
    userId: string,
    metrics?: readonly WireMetric[] | null,
    after?: CursorPosition,
    older?: readonly WindowEntry[],
  ): Subscriber<WindowEntry> {
    const only = metrics && metrics.length > 0 ? new Set(metrics) : undefined;
    let backlog: WindowEntry[] | undefined;
    if (after) {
      if (!this.windowLog.covers(after.offsets, false)) throw expired();
      backlog = this.withoutErased(
        this.windowLog.after(after.offsets, false, (w) => w.userId === userId && (!only || only.has(w.metric))),
      );
      if (older && older.length > 0) backlog = joinAtSeam(older, backlog, windowKey);
    }
    const sub = new WindowSubscriber(this.opts.bufferSize, this.windowHooks, userId, only, after?.offsets);
    if (backlog) this.resume(sub, backlog);
    this.windowSubscribers += 1;
    getOrCreate(this.windowsByUser, userId).add(sub);
    if (this.closed) sub.close();
    return sub;
  }

  /**
   * A subscription to one user's windows that starts with the last `last` of them the replay log
   * holds (a client that just opened and wants something to draw), then goes on live.
   */
  subscribeWindowsWithLast(userId: string, metrics: readonly WireMetric[] | null | undefined, last: number) {
    const only = metrics && metrics.length > 0 ? new Set(metrics) : undefined;
    // Everything read so far is "before"; what the consumer reads from now on is delivered.
    const readSoFar = this.windowLog.positions();
    const held = this.windowLog.after(new Map(), true, (w) => w.userId === userId && (!only || only.has(w.metric)));
    const sub = new WindowSubscriber(this.opts.bufferSize, this.windowHooks, userId, only, readSoFar);
    this.resume(sub, last > 0 ? held.slice(-last) : []);
    this.windowSubscribers += 1;
    getOrCreate(this.windowsByUser, userId).add(sub);
    if (this.closed) sub.close();
    return sub;
  }

  /**
   * A subscription to one user's alerts, or everyone's when `userId` is null; `after` as for
   * windows. A cursor of everyone's alerts names every partition; one user's names one.
   */
  subscribeAlerts(
    userId?: string | null,
    after?: CursorPosition,
    older?: readonly AlertEntry[],
  ): Subscriber<AlertEntry> {
    const forAll = !userId;
    let backlog: AlertEntry[] | undefined;
    if (after) {
      if (!this.alertLog.covers(after.offsets, forAll)) throw expired();
      backlog = this.withoutErased(this.alertLog.after(after.offsets, forAll, (a) => forAll || a.userId === userId));
      if (older && older.length > 0) backlog = joinAtSeam(older, backlog, alertKey);
    }
    const sub = new HubSubscriber<LiveAlert>(
      this.opts.bufferSize,
      this.alertHooks,
      userId || undefined,
      after?.offsets,
    );
    if (backlog) this.resume(sub, backlog);
    this.alertSubscribers += 1;
    (sub.userId === undefined ? this.alertsForAll : getOrCreate(this.alertsByUser, sub.userId)).add(sub);
    if (this.closed) sub.close();
    return sub;
  }

  /**
   * Held events minus those of users erased after the event was appended. Events from the history
   * store (`older`) need no check: the erasure deleted them there.
   */
  private withoutErased<T extends { userId: string }>(entries: LogEntry<T>[]): LogEntry<T>[] {
    const ledger = this.opts.erasures;
    if (!ledger) return entries;
    return entries.filter((e) => e.appendedMs === undefined || !ledger.erasedAfter(e.event.userId, e.appendedMs));
  }

  /** `appendedMs`: the message's Kafka timestamp, for the erasure check of a later replay. */
  publishWindow(w: LiveWindow, partition: number, offset: number, appendedMs?: number): void {
    this.counters.windowsReceived += 1;
    if (this.recent.isRepeat(windowKey(w), windowFingerprint(w))) {
      this.counters.duplicates += 1;
      this.windowLog.skip(partition, offset);
      return;
    }
    const entry = this.windowLog.append(partition, offset, w, false, appendedMs);
    if (!entry) return;
    const subs = this.windowsByUser.get(w.userId);
    if (!subs) return;
    const live = this.windowLog.isLive(entry);
    for (const sub of subs) {
      if (sub.metrics && !sub.metrics.has(w.metric)) continue;
      if (!wants(sub, entry, live)) continue;
      this.counters.delivered += 1;
      sub.push(entry);
    }
  }

  publishAlert(a: LiveAlert, partition: number, offset: number, appendedMs?: number): void {
    this.counters.alertsReceived += 1;
    if (this.recent.isRepeat(alertKey(a), '')) {
      this.counters.duplicates += 1;
      this.alertLog.skip(partition, offset);
      return;
    }
    // Alerts are rare: every entry records the read positions, for cursors of everyone's alerts.
    const entry = this.alertLog.append(partition, offset, a, true, appendedMs);
    if (!entry) return;
    const live = this.alertLog.isLive(entry);
    const subs = this.alertsByUser.get(a.userId);
    if (subs) for (const sub of subs) this.deliver(sub, entry, live);
    for (const sub of this.alertsForAll) this.deliver(sub, entry, live);
  }

  /** Whether the replay log alone can serve a window cursor. */
  coversWindows(after: CursorPosition): boolean {
    return this.windowLog.covers(after.offsets, false);
  }

  /** Whether the replay log alone can serve an alert cursor (`forAll`: everyone's alerts). */
  coversAlerts(after: CursorPosition, forAll: boolean): boolean {
    return this.alertLog.covers(after.offsets, forAll);
  }

  /** Per partition, the first offset from which the replay log holds every event. */
  coverage(kind: 'window' | 'alert'): Map<number, number> {
    return (kind === 'window' ? this.windowLog : this.alertLog).coverage();
  }

  /** A message of an output topic that was not a valid event: counted, and its offset passed. */
  skipMalformed(kind: 'window' | 'alert', partition: number, offset: number): void {
    this.counters.malformed += 1;
    (kind === 'window' ? this.windowLog : this.alertLog).skip(partition, offset);
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
      replayHeld: this.windowLog.size() + this.alertLog.size(),
    };
  }

  private resume<T>(sub: HubSubscriber<T>, backlog: LogEntry<T>[]): void {
    this.counters.resumed += 1;
    this.counters.replayed += backlog.length;
    sub.replay(backlog);
  }

  private deliver(sub: AlertSubscriber, entry: AlertEntry, live: boolean): void {
    if (!wants(sub, entry, live)) return;
    this.counters.delivered += 1;
    sub.push(entry);
  }
}

/**
 * Whether a subscriber takes an event: one resumed from a cursor takes everything after the
 * cursor's offsets (the history read on start-up included); one from now on takes live events only.
 */
function wants<T>(sub: HubSubscriber<T>, entry: LogEntry<T>, live: boolean): boolean {
  if (sub.after === undefined) return live;
  const offset = sub.after.get(entry.partition);
  return offset === undefined ? true : entry.offset > offset;
}

/**
 * Events read from the history store, then the log's: a repeat of the job that the store holds at
 * its first position and the log at a later one (read before this gateway's de-duplication had
 * seen the first) is delivered once.
 */
function joinAtSeam<T>(
  older: readonly LogEntry<T>[],
  backlog: LogEntry<T>[],
  key: (event: T) => string,
): LogEntry<T>[] {
  const stored = new Set(older.map((e) => key(e.event)));
  return [...older, ...backlog.filter((e) => !stored.has(key(e.event)))];
}

export function expired(): AppError {
  return new AppError(
    ErrorCode.CURSOR_EXPIRED,
    'after: the events after this cursor are no longer held; read what you missed with the windows/alerts queries, then subscribe without a cursor',
  );
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
