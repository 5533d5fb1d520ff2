/** Whole-topic reads for the soak's checks: every message from the first offset to the end offsets of now. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';

/** The values of every message on `topic` up to its end offsets at the time of the call. */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 180_000): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${topic}-check-${Date.now().toString(36)}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, maxWaitTimeInMs: 500 });
  const values: string[] = [];
  try {
    const ends = new Map(
      (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]),
    );
    // The next offset to read per partition; a partition is done once it reaches its end offset.
    const position = new Map([...ends].map(([p, o]) => [p, o.low]));
    const done = () => [...ends].every(([p, o]) => (position.get(p) ?? 0) >= o.high);
    if (done()) return values;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition)?.high ?? 0;
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset >= end) break;
          if (m.value) values.push(m.value.toString());
          position.set(batch.partition, offset + 1);
        }
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${topic}: not read to its end within ${timeoutMs} ms`);
      await sleep(200);
    }
    return values;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
