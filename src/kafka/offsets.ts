/**
 * Topic end offsets and consumer-group lag, asked of the brokers through a kafkajs admin client.
 * Lag of a partition = its end offset minus the group's committed offset; a partition the group has
 * never committed counts from the oldest retained message (where a group that starts from the
 * beginning, as the worker does by default, would begin).
 */
import type { Admin } from 'kafkajs';

export interface PartitionOffsets {
  partition: number;
  /** Oldest retained offset. */
  startOffset: number;
  /** The offset the next message will get (high watermark). */
  endOffset: number;
}

export interface PartitionLag {
  partition: number;
  endOffset: number;
  /** Null when the group has never committed this partition. */
  committedOffset: number | null;
  lag: number;
}

export interface GroupLag {
  groupId: string;
  topic: string;
  /** Stable, Empty, PreparingRebalance, CompletingRebalance, Dead (the broker's word). */
  state: string;
  members: number;
  totalLag: number;
  partitions: PartitionLag[];
}

export async function topicOffsets(admin: Admin, topic: string): Promise<PartitionOffsets[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets
    .map((o) => ({ partition: o.partition, startOffset: Number(o.low), endOffset: Number(o.high) }))
    .sort((a, b) => a.partition - b.partition);
}

/** Pure: the lag of each partition from end offsets and committed offsets ('-1' = none). */
export function lagOf(
  ends: readonly PartitionOffsets[],
  committed: readonly { partition: number; offset: string }[],
): PartitionLag[] {
  const byPartition = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return ends.map((e) => {
    const c = byPartition.get(e.partition);
    const committedOffset = c !== undefined && c >= 0 ? c : null;
    const from = committedOffset ?? e.startOffset;
    return { partition: e.partition, endOffset: e.endOffset, committedOffset, lag: Math.max(0, e.endOffset - from) };
  });
}

export async function groupLag(
  admin: Admin,
  groupId: string,
  topic: string,
  ends?: readonly PartitionOffsets[],
): Promise<GroupLag> {
  const [endOffsets, committed, described] = await Promise.all([
    ends ? Promise.resolve(ends) : topicOffsets(admin, topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
    admin.describeGroups([groupId]),
  ]);
  const partitions = lagOf(endOffsets, committed.find((t) => t.topic === topic)?.partitions ?? []);
  const group = described.groups[0];
  return {
    groupId,
    topic,
    state: group?.state ?? 'Unknown',
    members: group?.members.length ?? 0,
    totalLag: partitions.reduce((sum, p) => sum + p.lag, 0),
    partitions,
  };
}

/**
 * One admin connection kept for the life of the owner and rebuilt after a failure, so every scrape
 * or status query does not pay a connect.
 */
export function sharedAdmin(create: () => Admin): {
  use<T>(fn: (admin: Admin) => Promise<T>): Promise<T>;
  close(): Promise<void>;
} {
  let admin: Admin | undefined;
  let connecting: Promise<Admin> | undefined;
  const get = (): Promise<Admin> => {
    if (admin) return Promise.resolve(admin);
    connecting ??= (async () => {
      const a = create();
      try {
        await a.connect();
        admin = a;
        return a;
      } finally {
        connecting = undefined;
      }
    })();
    return connecting;
  };
  return {
    async use(fn) {
      const a = await get();
      try {
        return await fn(a);
      } catch (err) {
        if (admin === a) admin = undefined;
        await a.disconnect().catch(() => undefined);
        throw err;
      }
    },
    async close() {
      const a = admin;
      admin = undefined;
      await a?.disconnect().catch(() => undefined);
    },
  };
}
