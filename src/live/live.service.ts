/**
 * The live part of the gateway: the hub that subscriptions read from and the consumer that feeds
 * it. Started before the HTTP server listens; stopped after it has closed.
 */
import type { Kafka } from '../kafka/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { WireMetric } from '../domain/metrics.js';
import { AppError, ErrorCode } from '../errors.js';
import { createLiveConsumer } from './consumer.js';
import { createCursorCodec, type CursorPosition } from './cursor.js';
import type { ErasureLedger } from './erasure-ledger.js';
import { LiveHub, expired, type AlertEntry, type LiveStats, type WindowEntry } from './hub.js';
import type { LiveAlert } from '../domain/events.js';
import type { LogEntry } from './replay-log.js';
import type { HistoryService, Stored } from '../timescale/history.service.js';
import type { Subscriber } from './subscriber.js';
import { DeadLetterRing, type DeadLetter } from './dead-letters.js';

export interface LiveService {
  /**
   * One user's windows from now on, or, with `after` (a cursor), every window after the cursor's
   * first and then live ones. Throws INVALID_CURSOR / CURSOR_EXPIRED.
   */
  subscribeWindows(
    userId: string,
    metrics?: readonly WireMetric[] | null,
    after?: string | null,
  ): Promise<Subscriber<WindowEntry>>;
  /** One user's windows: the last `last` the gateway holds, then live ones. */
  subscribeWindowsWithLast(
    userId: string,
    metrics: readonly WireMetric[] | null | undefined,
    last: number,
  ): Subscriber<WindowEntry>;
  /** One user's alerts, or everyone's when `userId` is null; `after` as for windows. */
  subscribeAlerts(userId?: string | null, after?: string | null): Promise<Subscriber<AlertEntry>>;
  /** The cursor of a delivered window. */
  windowCursor(entry: WindowEntry): string;
  /** The cursor of a delivered alert; `forAll` for a subscription to everyone's alerts. */
  alertCursor(entry: AlertEntry, forAll: boolean): string;
  /** The cursor of a stored event (history queries): one partition's offset. */
  storedCursor(kind: 'window' | 'alert', userId: string, partition: number, offset: number): string;
  /** Counts for health and metrics: live subscribers, dropped and duplicate events, buffers. */
  stats(): LiveStats;
  /** The dead-letter topic's most recent messages, newest first. */
  deadLetters(limit: number): DeadLetter[];
  /** Completes every open subscription; called on shutdown before the sockets close. */
  completeAll(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Where a cursor older than the replay log is served from: the history writer's tables, as far as
 * it has stored. Without one, such a cursor answers CURSOR_EXPIRED.
 */
export interface LiveArchive {
  history: HistoryService;
  /** The offset before which the history writer has stored every event of `topic`'s `partition`. */
  storedUpTo(topic: string, partition: number): Promise<number>;
}

/** `erasures`: users whose events held before their erasure are not replayed (docs/privacy.md). */
export function createLiveService(
  config: Pick<Config, 'kafka' | 'live'>,
  logger: Logger,
  kafka: Kafka,
  archive?: LiveArchive,
  erasures?: ErasureLedger,
): LiveService {
  const { processed, alerts } = config.kafka.topics;
  const hub = new LiveHub({
    bufferSize: config.live.bufferSize,
    dedupEntries: config.live.dedupEntries,
    replayPerPartition: config.live.replayPerPartition,
    ...(erasures ? { erasures } : {}),
  });
  const deadLetters = new DeadLetterRing();
  const consumer = createLiveConsumer(config, logger, kafka, hub, deadLetters);
  const codec = createCursorCodec(config.live.cursorSecret, {
    window: config.kafka.topics.processed,
    alert: config.kafka.topics.alerts,
  });

  /** A user's cursor resumes that user's subscriptions only: its partition is that user's. */
  const decodeFor = (cursor: string, kind: 'window' | 'alert', userId: string | null): CursorPosition => {
    const position = codec.decode(cursor, kind);
    if (position.userId !== null && position.userId !== userId) {
      throw new AppError(
        ErrorCode.INVALID_CURSOR,
        userId === null
          ? "after: this cursor is of one user's alerts; resume everyone's alerts with a cursor of that subscription"
          : "after: this cursor is of another user's events",
      );
    }
    return position;
  };

  const single = (partition: number, offset: number) => new Map([[partition, offset]]);

  /**
   * The part of a replay the log no longer holds, from the history store: per partition, the
   * events after the cursor and before the log's coverage. Returns them (oldest first) and the
   * position from which the log takes over; CURSOR_EXPIRED when the store has not got that far.
   */
  async function fromArchive<T>(
    kind: 'window' | 'alert',
    position: CursorPosition,
    allPartitions: boolean,
    read: (partition: number, after: number, before: number) => Promise<Stored<T>[]>,
  ): Promise<{ older: LogEntry<T>[]; resumeAt: CursorPosition }> {
    if (!archive) throw expired();
    const topic = kind === 'window' ? processed : alerts;
    const coverage = hub.coverage(kind);
    const partitions = allPartitions ? [...coverage.keys()] : [...position.offsets.keys()];
    const offsets = new Map(position.offsets);
    const older: LogEntry<T>[] = [];
    for (const partition of partitions) {
      const before = coverage.get(partition);
      if (before === undefined) throw expired();
      const after = position.offsets.get(partition) ?? -1;
      if (after + 1 >= before) continue;
      if ((await archive.storedUpTo(topic, partition)) < before) throw expired();
      for (const s of await read(partition, after, before)) {
        older.push({ partition: s.partition, offset: s.offset, seq: -1, event: s.event });
      }
      offsets.set(partition, before - 1);
    }
    return { older, resumeAt: { ...position, offsets } };
  }

  /** Everyone's alerts from several partitions: in time order, each with the positions so far. */
  function withPositions(older: LogEntry<LiveAlert>[], start: ReadonlyMap<number, number>): AlertEntry[] {
    const positions = new Map(start);
    return [...older]
      .sort(
        (a, b) => a.event.time.getTime() - b.event.time.getTime() || a.partition - b.partition || a.offset - b.offset,
      )
      .map((e) => {
        positions.set(e.partition, e.offset);
        return { ...e, positions: new Map(positions) };
      });
  }

  return {
    async subscribeWindows(userId, metrics, after) {
      if (!after) return hub.subscribeWindows(userId, metrics);
      const position = decodeFor(after, 'window', userId);
      if (hub.coversWindows(position)) return hub.subscribeWindows(userId, metrics, position);
      const { older, resumeAt } = await fromArchive('window', position, false, (p, a, b) =>
        archive!.history.windowsBetween(userId, metrics ?? null, processed, p, a, b),
      );
      // The log may have moved on while the store answered: then it throws CURSOR_EXPIRED, and a
      // client's next attempt reads a little more from the store.
      return hub.subscribeWindows(userId, metrics, resumeAt, older);
    },
    subscribeWindowsWithLast: (userId, metrics, last) => hub.subscribeWindowsWithLast(userId, metrics, last),
    async subscribeAlerts(userId, after) {
      if (!after) return hub.subscribeAlerts(userId);
      const forAll = !userId;
      const position = decodeFor(after, 'alert', userId ?? null);
      if (hub.coversAlerts(position, forAll)) return hub.subscribeAlerts(userId, position);
      const { older, resumeAt } = await fromArchive('alert', position, forAll, (p, a, b) =>
        archive!.history.alertsBetween(userId ?? null, alerts, p, a, b),
      );
      return hub.subscribeAlerts(userId, resumeAt, forAll ? withPositions(older, position.offsets) : older);
    },
    windowCursor: (entry) =>
      (entry.cursor ??= codec.encode({
        kind: 'window',
        userId: entry.event.userId,
        offsets: single(entry.partition, entry.offset),
      })),
    alertCursor: (entry, forAll) =>
      forAll
        ? codec.encode({
            kind: 'alert',
            userId: null,
            offsets: new Map([...(entry.positions ?? []), [entry.partition, entry.offset]]),
          })
        : (entry.cursor ??= codec.encode({
            kind: 'alert',
            userId: entry.event.userId,
            offsets: single(entry.partition, entry.offset),
          })),
    storedCursor: (kind, userId, partition, offset) =>
      codec.encode({ kind, userId, offsets: single(partition, offset) }),
    stats: () => hub.stats(),
    deadLetters: (limit) => deadLetters.recent(limit),
    completeAll: () => hub.completeAll(),
    start: () => consumer.start(),
    async stop() {
      hub.completeAll();
      await consumer.stop();
    },
  };
}
