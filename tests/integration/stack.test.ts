/** The local stack's Kafka and Postgres answer real requests, and `health` sees all four services. */
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { collect, endOffsets, testKafka } from '../helpers/kafka.js';
import { startGateway } from '../helpers/gateway.js';
import { uniqueId } from '../helpers/wait.js';
import { HealthDocument } from '../generated/graphql.js';

const config = loadConfig();

describe('local stack', () => {
  const kafka = testKafka();
  const topic = uniqueId('stack-roundtrip');
  const admin = kafka.admin();

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('Kafka: a message produced with kafkajs is consumed back', async () => {
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
    const since = await endOffsets(kafka, topic);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k1', value: 'hello', headers: { h: 'v' } }] });
    await producer.disconnect();
    const got = await collect(
      kafka,
      topic,
      since,
      () => true,
      (all) => all.length >= 1,
    );
    expect(got[0]).toMatchObject({ key: 'k1', value: 'hello', headers: { h: 'v' } });
  });

  it('Kafka: the topics of the design exist with several partitions', async () => {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: Object.values(config.kafka.topics) });
    for (const t of meta.topics) expect(t.partitions.length).toBeGreaterThan(1);
    expect(meta.topics.map((t) => t.name).sort()).toEqual(Object.values(config.kafka.topics).sort());
  });

  it('Postgres: runs SQL on the project database', async () => {
    const client = new pg.Client({ connectionString: config.postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number; db: string }>('SELECT 40 + 2 AS n, current_database() AS db');
      expect(rows[0]).toEqual({ n: 42, db: new URL(config.postgres.url).pathname.slice(1) });
    } finally {
      await client.end();
    }
  });

  it('health: Kafka, Flink, Trino and Postgres all answer', async () => {
    const gw = await startGateway();
    try {
      const res = await gw.gql(HealthDocument);
      const byName = Object.fromEntries((res.data?.health ?? []).map((h) => [h.name, h]));
      expect(Object.keys(byName).sort()).toEqual(['flink', 'kafka', 'postgres', 'trino']);
      for (const h of Object.values(byName)) {
        expect(h.ok, `${h.name}: ${h.detail}`).toBe(true);
        expect(h.latencyMs).toBeGreaterThanOrEqual(0);
      }
      expect(byName.flink?.detail).toMatch(/TaskManager/);
      expect(byName.postgres?.detail).toMatch(/PostgreSQL/);
    } finally {
      await gw.stop();
    }
  });
});
