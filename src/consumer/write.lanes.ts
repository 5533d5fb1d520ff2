/**
 * The worker's write queues: one lane per partition, each writing its batches one at a time in
 * offset order (so the first of two messages with the same identity is the one stored, as when
 * each batch was written before the next was fetched), lanes of different partitions side by side.
 * A lane holds at most `capacity` batches besides the one being written: the batch handler waits
 * for room (back-pressure on kafkajs' fetching), which bounds the memory held by decoded batches.
 *
 * Items of an earlier group generation (`current` says no) are dropped unwritten when their turn
 * comes: after a rebalance kafkajs fetches them again from the committed offsets, here or at
 * another member. The item being written when that happens finishes first, so a lane never has
 * two writes of the same partition under way. Knows nothing of Kafka or Postgres; unit-tested.
 */

export type Room = 'room' | 'full' | 'closed';

export interface WriteLanesOptions<T> {
  /** Batches a lane holds besides the one being written. At least 1. */
  capacity: number;
  /** Lanes writing at the same time (the worker's connections to Postgres). At least 1. */
  writers: number;
  /**
   * Writes items of one lane, in order, as one (retrying as its failure policy says). A rejection
   * is a defect, not a failure of the world: it is reported to onDefect and the items are tried
   * again after `defectRetryMs`, as kafkajs would hand a batch whose handler threw again, until
   * they are no longer current.
   */
  write: (items: T[]) => Promise<void>;
  /** Whether an item still belongs to the group generation being consumed. */
  current: (item: T) => boolean;
  /**
   * Whether the next queued item may join the items taken for a write (a lane that fell behind
   * catches up with fewer, larger writes). Default: never, one item per write.
   */
  joins?: (taken: readonly T[], next: T) => boolean;
  onDefect: (err: unknown, items: readonly T[]) => void;
  /** Default 1,000 ms. */
  defectRetryMs?: number;
}

export interface WriteLanes<T> {
  /**
   * Resolves 'room' once the partition's lane can take another item, 'full' after `waitMs`
   * without room (the caller heartbeats and waits again), 'closed' once the lanes are closed.
   */
  waitForRoom(partition: number, waitMs: number): Promise<Room>;
  /** Queues an item behind the partition's others. Call after waitForRoom said 'room'. */
  push(partition: number, item: T): void;
  /** Items queued or being written, over all lanes. */
  size(): number;
  /** Resolves when every lane is empty (each item written or dropped). */
  idle(): Promise<void>;
  /** Takes no more items, drops the queued ones, resolves when the writes under way have ended. */
  close(): Promise<void>;
}

interface Lane<T> {
  queue: T[];
  writing: boolean;
  /** Waiters for room, woken whenever the lane shrinks or the lanes close. */
  roomWaiters: Set<() => void>;
}

export function createWriteLanes<T>(options: WriteLanesOptions<T>): WriteLanes<T> {
  const { capacity, writers, write, current, onDefect } = options;
  const joins = options.joins ?? (() => false);
  const defectRetryMs = options.defectRetryMs ?? 1_000;
  if (!Number.isInteger(capacity) || capacity < 1)
    throw new Error(`write lanes: capacity must be >= 1, got ${capacity}`);
  if (!Number.isInteger(writers) || writers < 1) throw new Error(`write lanes: writers must be >= 1, got ${writers}`);

  const lanes = new Map<number, Lane<T>>();
  let closed = false;
  let idleWaiters: (() => void)[] = [];
  // Write slots: a lane waiting for one would otherwise wait for a pool connection, whose
  // acquisition times out and would count as the database being unavailable.
  let slotsFree = writers;
  const slotWaiters: (() => void)[] = [];
  const acquire = (): Promise<void> => {
    if (slotsFree > 0) {
      slotsFree -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => slotWaiters.push(resolve));
  };
  // Hands the slot straight to the next waiter, so a lane that just wrote cannot overtake it.
  const release = (): void => {
    const next = slotWaiters.shift();
    if (next) next();
    else slotsFree += 1;
  };

  const laneOf = (partition: number): Lane<T> => {
    let lane = lanes.get(partition);
    if (!lane) {
      lane = { queue: [], writing: false, roomWaiters: new Set() };
      lanes.set(partition, lane);
    }
    return lane;
  };

  const size = (): number => {
    let n = 0;
    for (const lane of lanes.values()) n += lane.queue.length + (lane.writing ? 1 : 0);
    return n;
  };

  const wake = (lane: Lane<T>): void => {
    for (const w of lane.roomWaiters) w();
    lane.roomWaiters.clear();
  };

  const settle = (): void => {
    if (size() > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const writeUntilDone = async (items: T[]): Promise<void> => {
    for (;;) {
      try {
        await write(items);
        return;
      } catch (err) {
        onDefect(err, items);
        await new Promise((r) => setTimeout(r, defectRetryMs));
        if (closed || !current(items[0]!)) return;
      }
    }
  };

  /** Drains one lane; at most one drain per lane runs (`writing`). */
  const drain = async (lane: Lane<T>): Promise<void> => {
    lane.writing = true;
    try {
      for (;;) {
        const item = lane.queue.shift();
        if (item === undefined) break;
        wake(lane);
        if (closed || !current(item)) continue;
        await acquire();
        try {
          if (closed || !current(item)) continue;
          // What queued while this lane waited for its slot may share the write.
          const items = [item];
          while (lane.queue.length > 0 && current(lane.queue[0]!) && joins(items, lane.queue[0]!)) {
            items.push(lane.queue.shift()!);
          }
          if (items.length > 1) wake(lane);
          await writeUntilDone(items);
        } finally {
          release();
        }
      }
    } finally {
      lane.writing = false;
      wake(lane);
      settle();
    }
  };

  return {
    waitForRoom(partition, waitMs) {
      if (closed) return Promise.resolve('closed');
      const lane = laneOf(partition);
      if (lane.queue.length < capacity) return Promise.resolve('room');
      return new Promise<Room>((resolve) => {
        const timer = setTimeout(() => {
          lane.roomWaiters.delete(woken);
          resolve('full');
        }, waitMs);
        const woken = (): void => {
          clearTimeout(timer);
          resolve(closed ? 'closed' : lane.queue.length < capacity ? 'room' : 'full');
        };
        lane.roomWaiters.add(woken);
      });
    },

    push(partition, item) {
      if (closed) return;
      const lane = laneOf(partition);
      lane.queue.push(item);
      if (!lane.writing) void drain(lane);
    },

    size,

    idle() {
      if (size() === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    close() {
      closed = true;
      for (const lane of lanes.values()) {
        lane.queue.length = 0;
        wake(lane);
      }
      return this.idle();
    },
  };
}
