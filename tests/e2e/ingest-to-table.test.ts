/**
 * The whole write path: ingestReadings -> Kafka -> consumer worker -> readings table. A topic of
 * its own keeps the test independent of whatever else flows through fitbit_ingestion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { IngestReadingsDocument } from '../generated/graphql.js';

describe('mutation -> Kafka -> worker -> table', () => {
  const topic = uniqueId('e2e-ingest');
  const env = { KAFKA_TOPIC: topic, KAFKA_CONSUMER_GROUP: uniqueId('e2e-writer'), LOG_LEVEL: 'warn' };
  const kafka = testKafka();
  const admin = kafka.admin();
  const config = loadConfig({ ...process.env, ...env });
  const db = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
  let gw: TestGateway;
  let worker: ConsumerWorker;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
    worker = createConsumerWorker({ config, logger: createLogger(config, 'e2e-worker'), print: () => undefined });
    await worker.start();
    gw = await startGateway(env);
  });

  afterAll(async () => {
    await gw?.stop();
    await worker?.stop();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await db.end();
  });

  const rowsOf = async (user: string) =>
    (
      await db.query<{ metric: string; time: Date; value: number; device_id: string | null }>(
        'SELECT metric, time, value, device_id FROM readings WHERE user_id = $1 ORDER BY time, metric',
        [user],
      )
    ).rows;

  it('stores exactly the accepted readings, each identity once, the first one winning', async () => {
    const user = uniqueId('e2e-user');
    const t = Date.parse('2026-11-20T08:00:00.000Z');
    const iso = (ms: number) => new Date(ms).toISOString();
    const first = await gw.gql(IngestReadingsDocument, {
      readings: [
        { userId: user, metric: 'HEART_RATE', time: iso(t), value: 70, deviceId: 'charge6-1' },
        { userId: user, metric: 'HEART_RATE', time: iso(t + 5000), value: 75 },
        { userId: user, metric: 'STEPS', time: iso(t), value: 12 },
        // Same identity as the first reading, in the same request: a duplicate, not an error.
        { userId: user, metric: 'HEART_RATE', time: iso(t), value: 99 },
        // Invalid: reported, never stored.
        { userId: user, metric: 'SPO2', time: iso(t), value: 20 },
      ],
    });
    expect(first.data?.ingestReadings.accepted).toBe(4);
    // The in-batch repeat is folded by the gateway and reported: 4 - 1 rows come from this batch.
    expect(first.data?.ingestReadings.duplicates).toBe(1);
    expect(first.data?.ingestReadings.rejected.map((r) => r.code)).toEqual(['VALUE_OUT_OF_RANGE']);

    // The same identity again in a later request, with an offset instead of Z.
    const again = await gw.gql(IngestReadingsDocument, {
      readings: [{ userId: user, metric: 'HEART_RATE', time: '2026-11-20T10:00:05.000+02:00', value: 1.5 * 50 + 1 }],
    });
    expect(again.data?.ingestReadings.accepted).toBe(1);

    const duplicatesBefore = worker.stats().duplicates;
    const rows = await waitFor(
      async () => {
        const r = await rowsOf(user);
        return r.length === 3 && worker.stats().duplicates >= duplicatesBefore ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'three rows for the user' },
    );
    expect(rows.map((r) => [r.metric, r.time.toISOString(), r.value, r.device_id])).toEqual([
      ['heart_rate', iso(t), 70, 'charge6-1'],
      ['steps', iso(t), 12, null],
      ['heart_rate', iso(t + 5000), 75, null],
    ]);
    // The repeat of the later request reached the worker and was counted as a duplicate there.
    await waitFor(() => worker.stats().duplicates >= 1, { what: 'the later repeat counted as a duplicate' });
  });

  it('stores readings from another producer (raw kafkajs, reading v1 JSON) the same way', async () => {
    const user = uniqueId('e2e-raw');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: user,
          value: JSON.stringify({
            userId: user,
            metric: 'spo2',
            time: '2026-11-20T08:00:00.000Z',
            value: 97,
            deviceId: 'sense2',
          }),
          headers: { 'schema-version': '1' },
        },
        {
          key: user,
          value: JSON.stringify({ userId: user, metric: 'breathing_rate', time: '2026-11-20T08:00:00Z', value: 14.5 }),
        },
      ],
    });
    await producer.disconnect();
    const rows = await waitFor(async () => {
      const r = await rowsOf(user);
      return r.length === 2 ? r : undefined;
    });
    expect(rows.map((r) => [r.metric, r.value, r.device_id]).sort()).toEqual([
      ['breathing_rate', 14.5, null],
      ['spo2', 97, 'sense2'],
    ]);
  });
});
