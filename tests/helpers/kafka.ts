/** Reading a real topic from a known position, for assertions on what a test produced. */
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import { loadConfig } from '../../src/config.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { uniqueId, waitFor } from './wait.js';

export function testKafka(): Kafka {
  const config = loadConfig();
  return new Kafka({ clientId: 'fitbit-tests', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
}

export type Offsets = { partition: number; offset: string }[];

/** The end offsets of every partition: messages produced after this call are read from here. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Offsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.offset }));
  } finally {
    await admin.disconnect();
  }
}

export interface Received {
  partition: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: number;
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

/**
 * Collects messages of `topic` written after `since`, keeping those `keep` accepts, until `done`
 * says enough (or the timeout passes, which fails the wait).
 */
export async function collect(
  kafka: Kafka,
  topic: string,
  since: Offsets,
  keep: (m: Received) => boolean,
  done: (all: Received[]) => boolean,
  timeoutMs = 30_000,
): Promise<Received[]> {
  const groupId = uniqueId('test-reader');
  const admin = kafka.admin();
  await admin.connect();
  await admin.setOffsets({ groupId, topic, partitions: since });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
  const got: Received[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
        const m: Received = {
          partition,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers: headersOf(message.headers),
          timestamp: Number(message.timestamp),
        };
        if (keep(m)) got.push(m);
      },
    });
    await waitFor(() => done(got), { timeoutMs, what: `messages on ${topic}` });
    return got;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Creates a test's own topics (all with `partitions` partitions) and waits for their leaders. They get
 * the stack's replication (one copy by default; three, two in sync, in the cluster profile).
 */
export async function createTopics(kafka: Kafka, topics: string[], partitions: number): Promise<void> {
  const { replicationFactor, minInsyncReplicas } = loadConfig().kafka;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      topics.map((topic) => ({ topic, partitions, replicationFactor, minInsyncReplicas })),
    );
  } finally {
    await admin.disconnect();
  }
}

/** The topic settings of a test's own pipeline (ingestion, DLQ and the job's two outputs), named after `id`. */
export function privateTopics(id: string) {
  return {
    KAFKA_TOPIC: `${id}-ingestion`,
    KAFKA_DLQ_TOPIC: `${id}-dlq`,
    KAFKA_PROCESSED_TOPIC: `${id}-processed`,
    KAFKA_ALERTS_TOPIC: `${id}-alerts`,
  };
}

/** Deletes a test's own topics; a topic already gone is fine. */
export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
