/**
 * Creating topics on a cluster of any size. kafkajs's `waitForLeaders` asks one broker for the new
 * topic's metadata; on a cluster of several brokers that broker may not know the topic yet and the
 * call fails with UNKNOWN_TOPIC_OR_PARTITION although the topic was made. So: create without
 * waiting (an existing topic is not an error), then poll the metadata until every partition has a
 * leader, treating "not known yet" as "not yet".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Copies that must hold a write before acks=all answers; the broker's default when absent. */
  minInsyncReplicas?: number;
}

export async function ensureTopics(admin: Admin, specs: TopicSpec[], timeoutMs = 60_000): Promise<void> {
  if (specs.length === 0) return;
  await admin.createTopics({
    waitForLeaders: false,
    topics: specs.map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor,
      configEntries:
        s.minInsyncReplicas === undefined ? [] : [{ name: 'min.insync.replicas', value: String(s.minInsyncReplicas) }],
    })),
  });
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
      const ready = meta.topics.every(
        (t) =>
          t.partitions.length === specs.find((s) => s.topic === t.name)?.partitions &&
          t.partitions.every((p) => p.leader >= 0),
      );
      if (ready) return;
    } catch (err) {
      // Retriable (the topic not known to this broker yet); anything else is rethrown.
      if ((err as { retriable?: boolean }).retriable !== true) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `topics ${specs.map((s) => s.topic).join(', ')} have no leaders after ${timeoutMs} ms (${String(last)})`,
      );
    }
    await sleep(250);
  }
}
