/**
 * Shared setup of the consumer worker tests: a fresh ingestion topic and DLQ topic per test file
 * (so a group can start from the beginning and only sees this file's messages), a config pointing
 * the worker at them, and readers of what landed in Postgres.
 */
import { Partitioners, type IHeaders, type Kafka } from 'kafkajs';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { createTopics as createTestTopics } from '../helpers/kafka.js';
import { uniqueId } from '../helpers/wait.js';

export const base = loadConfig();

export interface Topics {
  topic: string;
  dlqTopic: string;
  remove(): Promise<void>;
}

export async function createTopics(kafka: Kafka, partitions = base.kafka.partitions): Promise<Topics> {
  const id = uniqueId('t').replace(/-/g, '_');
  const topic = `consumer_test_${id}`;
  const dlqTopic = `consumer_test_dlq_${id}`;
  await createTestTopics(kafka, [topic], partitions);
  await createTestTopics(kafka, [dlqTopic], 1);
  return {
    topic,
    dlqTopic,
    async remove() {
      const a = kafka.admin();
      await a.connect();
      await a.deleteTopics({ topics: [topic, dlqTopic] }).catch(() => undefined);
      await a.disconnect();
    },
  };
}

/** Environment for a worker on these topics, in its own group. */
export function workerEnv(
  topics: Topics,
  group: string,
  extra: Record<string, string> = {},
): Record<string, string | undefined> {
  return {
    ...process.env,
    KAFKA_TOPIC: topics.topic,
    KAFKA_DLQ_TOPIC: topics.dlqTopic,
    KAFKA_CONSUMER_GROUP: group,
    KAFKA_CONSUMER_FROM_BEGINNING: 'true',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    CONSUMER_RETRY_INITIAL_MS: '100',
    CONSUMER_RETRY_MAX_MS: '1000',
    // A killed worker's partitions move on after this (the broker's minimum), not after 30 s.
    CONSUMER_SESSION_TIMEOUT_MS: '6000',
    ...extra,
  };
}

export function workerConfig(topics: Topics, group: string, extra: Record<string, string> = {}): Config {
  return loadConfig(workerEnv(topics, group, extra));
}

export interface TestReading {
  userId: string;
  metric: string;
  time: string;
  value: number;
  deviceId?: string;
  eventId?: string;
}

const T0 = Date.UTC(2026, 0, 1);

/** The i-th reading of a user: distinct identity per i (one second apart). */
export function reading(userId: string, i: number, over: Partial<TestReading> = {}): TestReading {
  return { userId, metric: 'heart_rate', time: new Date(T0 + i * 1000).toISOString(), value: 60 + (i % 100), ...over };
}

export interface OutMessage {
  key: string | null;
  value: string | Buffer | null;
  headers?: IHeaders;
}

/**
 * Sends with a plain kafkajs producer, as a producer other than the gateway would, `perSend`
 * messages a request (a request's messages for one partition make one record batch, which a
 * fetch returns whole however small its byte limit).
 */
export async function produce(kafka: Kafka, topic: string, messages: OutMessage[], perSend = 5000): Promise<void> {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += perSend) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + perSend) });
    }
  } finally {
    await producer.disconnect();
  }
}

export const asMessage = (r: TestReading, headers: IHeaders = { 'schema-version': '1' }): OutMessage => ({
  key: r.userId,
  value: JSON.stringify(r),
  headers,
});

export function testPool(): pg.Pool {
  return new pg.Pool({ connectionString: base.postgres.url, max: 2 });
}

export async function countRows(pool: pg.Pool, userIds: string[]): Promise<number> {
  const res = await pool.query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE user_id = ANY($1)', [userIds]);
  return Number(res.rows[0]!.n);
}

export interface StoredRow {
  userId: string;
  metric: string;
  time: string;
  value: number;
  deviceId: string | null;
  eventId: string | null;
}

export async function storedRows(pool: pg.Pool, userIds: string[]): Promise<StoredRow[]> {
  const res = await pool.query<{
    user_id: string;
    metric: string;
    time: Date;
    value: number;
    device_id: string | null;
    event_id: string | null;
  }>(
    'SELECT user_id, metric, time, value, device_id, event_id FROM readings WHERE user_id = ANY($1) ORDER BY user_id, metric, time',
    [userIds],
  );
  return res.rows.map((r) => ({
    userId: r.user_id,
    metric: r.metric,
    time: r.time.toISOString(),
    value: r.value,
    deviceId: r.device_id,
    eventId: r.event_id,
  }));
}

export async function deleteRows(pool: pg.Pool, userIds: string[]): Promise<void> {
  await pool.query('DELETE FROM readings WHERE user_id = ANY($1)', [userIds]);
}

/** Offsets the group committed on the topic, summed over its partitions (none yet: 0). */
export async function committedTotal(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Rollup minutes that disagree with the per-minute aggregation of the users' stored readings (at most 5). */
export async function rollupMismatches(pool: pg.Pool, userIds: string[]): Promise<unknown[]> {
  const { rows } = await pool.query(
    `WITH raw AS (
       SELECT user_id, metric, date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS minute,
              count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max
       FROM readings WHERE user_id = ANY($1) GROUP BY 1, 2, 3
     ),
     roll AS (SELECT * FROM readings_minute WHERE user_id = ANY($1))
     SELECT raw.*, roll.count AS r_count FROM raw FULL JOIN roll USING (user_id, metric, minute)
     WHERE raw.count IS DISTINCT FROM roll.count OR raw.min IS DISTINCT FROM roll.min
        OR raw.max IS DISTINCT FROM roll.max OR abs(raw.sum - roll.sum) > 1e-9 * greatest(1, abs(raw.sum))
     LIMIT 5`,
    [userIds],
  );
  return rows;
}
