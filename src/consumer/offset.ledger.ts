/**
 * Which offsets the worker may commit. kafkajs fetches on as soon as a batch is handed to the
 * writers (its fetch position follows the resolved offsets), so the batches of a partition are
 * stored some time after they were fetched. The ledger remembers, per partition and in fetch
 * order, the batches handed over and which of them are stored, and offers for commit only the end
 * of the stored prefix: an offset is committed only when every message before it is stored (or in
 * the DLQ). A batch that is never stored (the worker stopped, the partition went to another
 * member) holds the commit of everything after it back: those messages are replayed by whoever
 * reads the partition next, and the readings' identity absorbs the replay. Pure; unit-tested.
 */

/** A commit of one partition: the offset of the next message to read, as Kafka wants it. */
export interface PartitionCommit {
  partition: number;
  offset: string;
}

/** One batch handed to the writers, as the ledger knows it. */
export interface TrackedBatch {
  readonly partition: number;
  readonly last: bigint;
  stored: boolean;
  /** False once the ledger forgot the batch (reset, forget): marking it stored then changes nothing. */
  live: boolean;
}

export interface OffsetLedger {
  /**
   * A batch was handed to the writers. Batches of a partition come in offset order; undefined
   * (nothing tracked) for a batch at or behind one already tracked, which only a rewind of the
   * fetch position produces: the caller then forgets the partition and tracks the batch again.
   */
  track(partition: number, lastOffset: string): TrackedBatch | undefined;
  /** The batch is stored (rows in the table, refused messages in the DLQ). */
  stored(batch: TrackedBatch): void;
  /** Per partition whose stored prefix grew since the last commit: one past its last message. */
  committable(): PartitionCommit[];
  /** Those offsets are committed: not offered again. Offsets not past the last committed are ignored. */
  committed(commits: readonly PartitionCommit[]): void;
  /** Forgets one partition: its batches tracked so far are never offered for commit. */
  forget(partition: number): void;
  /** Forgets every partition: a new group generation, in which kafkajs fetches from the committed offsets again. */
  reset(): void;
  /** Batches tracked and not yet stored, over all partitions. */
  pending(): number;
}

interface PartitionState {
  /** Batches not yet part of the stored prefix, in offset order. */
  batches: TrackedBatch[];
  /** One past the last message of the stored prefix, once there is one. */
  storedTo: bigint | undefined;
  /** What was last committed. */
  committedTo: bigint | undefined;
}

export function createOffsetLedger(): OffsetLedger {
  let partitions = new Map<number, PartitionState>();

  const stateOf = (partition: number): PartitionState => {
    let s = partitions.get(partition);
    if (!s) {
      s = { batches: [], storedTo: undefined, committedTo: undefined };
      partitions.set(partition, s);
    }
    return s;
  };

  const forgetState = (s: PartitionState): void => {
    for (const b of s.batches) b.live = false;
  };

  return {
    track(partition, lastOffset) {
      const s = stateOf(partition);
      const last = BigInt(lastOffset);
      const tail = s.batches[s.batches.length - 1];
      const floor = tail?.last ?? (s.storedTo === undefined ? undefined : s.storedTo - 1n);
      if (floor !== undefined && last <= floor) return undefined;
      const batch: TrackedBatch = { partition, last, stored: false, live: true };
      s.batches.push(batch);
      return batch;
    },

    stored(batch) {
      if (batch.live) batch.stored = true;
    },

    committable() {
      const out: PartitionCommit[] = [];
      for (const [partition, s] of partitions) {
        while (s.batches.length > 0 && s.batches[0]!.stored) {
          const b = s.batches.shift()!;
          b.live = false;
          s.storedTo = b.last + 1n;
        }
        if (s.storedTo !== undefined && (s.committedTo === undefined || s.storedTo > s.committedTo)) {
          out.push({ partition, offset: s.storedTo.toString() });
        }
      }
      return out.sort((a, b) => a.partition - b.partition);
    },

    committed(commits) {
      for (const c of commits) {
        const s = partitions.get(c.partition);
        if (!s) continue;
        const offset = BigInt(c.offset);
        if (s.committedTo === undefined || offset > s.committedTo) s.committedTo = offset;
      }
    },

    forget(partition) {
      const s = partitions.get(partition);
      if (s) forgetState(s);
      partitions.delete(partition);
    },

    reset() {
      for (const s of partitions.values()) forgetState(s);
      partitions = new Map();
    },

    pending() {
      let n = 0;
      for (const s of partitions.values()) for (const b of s.batches) if (!b.stored) n += 1;
      return n;
    },
  };
}
