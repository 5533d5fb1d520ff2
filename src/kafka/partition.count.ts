/**
 * A topic's partition count, read through an admin client and kept for `refreshMs`, so that a
 * producer which assigns partitions itself (the ingest batcher, the Flink heartbeat) follows
 * partitions added later without asking the brokers on every send.
 */
import type { Kafka } from 'kafkajs';

export interface PartitionCount {
  /** The count, read again once older than the refresh interval; rejects when Kafka cannot be asked. */
  get(): Promise<number>;
}

export function createPartitionCount(
  kafka: Kafka,
  topic: string,
  refreshMs = 60_000,
  now: () => number = Date.now,
): PartitionCount {
  let partitions = 0;
  let readAt = 0;
  let reading: Promise<number> | undefined;
  const read = async (): Promise<number> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const n = meta.topics[0]?.partitions.length ?? 0;
      if (n === 0) throw new Error(`topic ${topic} has no partitions`);
      partitions = n;
      readAt = now();
      return n;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
  return {
    get() {
      if (partitions > 0 && now() - readAt < refreshMs) return Promise.resolve(partitions);
      reading ??= read().finally(() => {
        reading = undefined;
      });
      return reading;
    },
  };
}
