/**
 * The most recent events of one output topic, per partition, in offset order: what a subscription
 * resumed with a cursor replays before it goes live. Bounded per partition; evicting an event moves
 * the partition's coverage past it, so "can this cursor be served?" is one comparison.
 *
 * Entries are shared with the subscribers' queues (one object per event, whatever the number of
 * subscribers), and carry a sequence number of arrival so that a replay over several partitions
 * comes out in the order the gateway read them.
 */

export interface LogEntry<T> {
  readonly partition: number;
  readonly offset: number;
  /** Order of arrival in this gateway, across partitions. */
  readonly seq: number;
  readonly event: T;
  /**
   * How far every partition had been read when this event arrived; kept only where a cursor must
   * name every partition (everyone's alerts).
   */
  readonly positions?: ReadonlyMap<number, number>;
  /** The event's one-partition cursor, made on first delivery and shared by every subscriber. */
  cursor?: string;
  /** The message's Kafka timestamp (epoch ms), checked against the erasure ledger before a replay. */
  readonly appendedMs?: number;
}

class PartitionLog<T> {
  private entries: LogEntry<T>[] = [];
  private head = 0;
  /** The highest offset read, held or skipped. */
  lastRead: number;

  constructor(
    /** Every event from this offset on is held (or was a repeat or malformed, and skipped). */
    public coveredFrom: number,
    /** Events from this offset on were published after the gateway started: live for everyone. */
    readonly liveFrom: number,
    private readonly capacity: number,
  ) {
    this.lastRead = coveredFrom - 1;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  append(entry: LogEntry<T>): void {
    this.lastRead = entry.offset;
    this.entries.push(entry);
    if (this.size > this.capacity) {
      const evicted = this.entries[this.head]!;
      this.head += 1;
      this.coveredFrom = evicted.offset + 1;
      // Compact now and then rather than shifting on every eviction: O(1) amortised.
      if (this.head >= this.capacity) {
        this.entries = this.entries.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** Entries with an offset above `offset`, oldest first. */
  after(offset: number): LogEntry<T>[] {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.offset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return this.entries.slice(lo);
  }
}

export class ReplayLog<T> {
  private readonly partitions = new Map<number, PartitionLog<T>>();
  private seq = 0;

  constructor(private readonly capacityPerPartition: number) {}

  /**
   * Declares where reading a partition starts (`from`) and where the topic ended when the gateway
   * started (`liveFrom`): events in between are history, kept for replay but not delivered to
   * subscriptions without a cursor.
   */
  open(partition: number, from: number, liveFrom: number): void {
    this.partitions.set(partition, new PartitionLog<T>(from, liveFrom, this.capacityPerPartition));
  }

  /**
   * Records an event; returns its entry, or undefined for a partition that was never opened. With
   * `withPositions` the entry also records how far each partition had been read.
   */
  append(
    partition: number,
    offset: number,
    event: T,
    withPositions = false,
    appendedMs?: number,
  ): LogEntry<T> | undefined {
    const log = this.partitions.get(partition);
    if (!log) return undefined;
    log.lastRead = offset;
    const base = { partition, offset, seq: this.seq++, event, ...(appendedMs !== undefined ? { appendedMs } : {}) };
    const entry: LogEntry<T> = withPositions ? { ...base, positions: this.positions() } : base;
    log.append(entry);
    return entry;
  }

  /** A message read but not held (a repeat or malformed): it still moves the read position. */
  skip(partition: number, offset: number): void {
    const log = this.partitions.get(partition);
    if (log && offset > log.lastRead) log.lastRead = offset;
  }

  /** The highest offset read per partition. */
  positions(): Map<number, number> {
    return new Map([...this.partitions].map(([p, log]) => [p, log.lastRead]));
  }

  isLive(entry: LogEntry<T>): boolean {
    const log = this.partitions.get(entry.partition);
    return log !== undefined && entry.offset >= log.liveFrom;
  }

  /**
   * True when every event after `offsets` is still here (or yet to come): each partition's cursor
   * offset is at or after the first held offset minus one. A partition the cursor does not name is
   * read from where the log's coverage starts, so it must not have evicted anything yet.
   */
  covers(offsets: ReadonlyMap<number, number>, allPartitions: boolean): boolean {
    if (this.partitions.size === 0) return false;
    for (const [partition, offset] of offsets) {
      const log = this.partitions.get(partition);
      if (!log || offset + 1 < log.coveredFrom) return false;
    }
    if (allPartitions) {
      for (const [partition, log] of this.partitions) {
        if (!offsets.has(partition) && log.coveredFrom > 0) return false;
      }
    }
    return true;
  }

  /** Where each partition's coverage starts (for the history store to fill what is older). */
  coverage(): Map<number, number> {
    return new Map([...this.partitions].map(([p, log]) => [p, log.coveredFrom]));
  }

  /**
   * Every held event after `offsets` in the partitions named (or in all partitions with
   * `allPartitions`), in arrival order, that `keep` accepts.
   */
  after(offsets: ReadonlyMap<number, number>, allPartitions: boolean, keep: (event: T) => boolean): LogEntry<T>[] {
    const out: LogEntry<T>[] = [];
    for (const [partition, log] of this.partitions) {
      const offset = offsets.get(partition);
      if (offset === undefined && !allPartitions) continue;
      for (const entry of log.after(offset ?? -1)) if (keep(entry.event)) out.push(entry);
    }
    if (offsets.size > 1 || allPartitions) out.sort((a, b) => a.seq - b.seq);
    return out;
  }

  /** Events held, all partitions. */
  size(): number {
    let n = 0;
    for (const log of this.partitions.values()) n += log.size;
    return n;
  }
}
