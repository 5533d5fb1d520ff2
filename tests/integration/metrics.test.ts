/**
 * /metrics after real traffic: the gateway's series move by exactly what a test sent (readings
 * accepted and rejected by code, produce requests, operations by name, outcome and transport), and
 * the worker's own /metrics counts rows, duplicates and DLQ messages by code and shows the group's
 * lag back at zero. The request id a producer set survives into the DLQ message.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createConsumerProcess, type ConsumerProcess } from '../../src/consumer/process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { collect, testKafka } from '../helpers/kafka.js';
import { WINDOWS_QUERY, collectSubscription, wsClient } from '../helpers/live.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import {
  countRows,
  createTopics,
  produce,
  reading,
  testPool,
  workerConfig,
  workerEnv,
  type Topics,
} from './consumer-fixtures.js';
import { exposes, sample, scrape } from './metrics.fixtures.js';

const INGEST = `mutation MetricsIngest($readings: [ReadingInput!]!) { ingestReadings(readings: $readings) { accepted rejected { index code } } }`;

describe('/metrics', () => {
  const kafka = testKafka();
  const pool = testPool();
  const group = uniqueId('metrics-writer');
  const user = uniqueId('metrics-user');
  let topics: Topics;
  let gw: TestGateway;
  let metricsUrl: string;

  beforeAll(async () => {
    topics = await createTopics(kafka);
    const env = workerEnv(topics, group) as Record<string, string>;
    gw = await startGateway({
      KAFKA_TOPIC: env.KAFKA_TOPIC!,
      KAFKA_DLQ_TOPIC: env.KAFKA_DLQ_TOPIC!,
      KAFKA_CONSUMER_GROUP: group,
    });
    metricsUrl = gw.url.replace(/\/graphql$/, '/metrics');
  });

  afterAll(async () => {
    await gw?.stop();
    await topics?.remove();
    await pool.end();
  });

  it('counts accepted and rejected readings, produce requests and operations by the exact amounts sent', async () => {
    const before = await scrape(metricsUrl);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const readings = [
      ...Array.from({ length: 7 }, (_, i) => reading(user, i)),
      reading(user, 100, { value: 999 }),
      reading(user, 101, { value: 5 }),
      reading(user, 102, { time: future }),
    ].map(({ userId, metric, time, value }) => ({ userId, metric: metric.toUpperCase(), time, value }));

    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'metrics-test-req-1' },
      body: JSON.stringify({ query: INGEST, variables: { readings } }),
    });
    expect(res.headers.get('x-request-id')).toBe('metrics-test-req-1');
    const body = (await res.json()) as { data: { ingestReadings: { accepted: number; rejected: { code: string }[] } } };
    expect(body.data.ingestReadings.accepted).toBe(7);

    // A document that does not validate, and a header that is not an id (replaced by a fresh one).
    const bad = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'not an id; '.repeat(20) },
      body: JSON.stringify({ query: 'query MetricsBroken { nope }', operationName: 'MetricsBroken' }),
    });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const after = await scrape(metricsUrl);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);

    expect(delta('fitbit_ingest_readings_accepted_total')).toBe(7);
    expect(delta('fitbit_ingest_readings_rejected_total', { code: 'VALUE_OUT_OF_RANGE' })).toBe(2);
    expect(delta('fitbit_ingest_readings_rejected_total', { code: 'TIME_IN_FUTURE' })).toBe(1);
    expect(delta('fitbit_ingest_readings_rejected_total')).toBe(3);
    expect(delta('fitbit_kafka_produced_messages_total', { outcome: 'ok' })).toBe(7);
    expect(delta('fitbit_kafka_produce_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(
      delta('fitbit_graphql_operation_duration_seconds_count', {
        operation: 'MetricsIngest',
        type: 'mutation',
        outcome: 'ok',
        transport: 'http',
      }),
    ).toBe(1);
    expect(
      delta('fitbit_graphql_operation_duration_seconds_count', {
        operation: 'MetricsBroken',
        outcome: 'invalid',
        transport: 'http',
      }),
    ).toBe(1);
    expect(delta('fitbit_http_request_duration_seconds_count', { route: '/graphql', method: 'POST' })).toBe(2);

    // Scrape-time gauges are there with plausible values.
    expect(sample(after, 'fitbit_pg_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(
      sample(after, 'fitbit_pg_pool_connections', { state: 'idle' }),
    );
    expect(exposes(after, 'fitbit_pg_pool_waiting_clients')).toBe(true);
    expect(exposes(after, 'fitbit_live_subscriptions')).toBe(true);
    expect(exposes(after, 'fitbit_trino_cache_requests_total')).toBe(true);
    expect([0, 1]).toContain(sample(after, 'fitbit_flink_job_running'));
  });

  it('counts a subscription over graphql-ws in the same operation series, under transport="ws"', async () => {
    const series = 'fitbit_graphql_operation_duration_seconds_count';
    const labels = { operation: 'Windows', type: 'subscription', outcome: 'ok', transport: 'ws' };
    const before = sample(await scrape(metricsUrl), series, labels);
    const client = wsClient(gw.url.replace(/^http/, 'ws'));
    try {
      const sub = collectSubscription(client, WINDOWS_QUERY, { userId: user });
      // Recorded once the subscription has started; the wait is for the scrape to show it.
      const after = await waitFor(
        async () => {
          const now = sample(await scrape(metricsUrl), series, labels);
          return now > before ? now : undefined;
        },
        { what: 'the subscription in fitbit_graphql_operation_duration_seconds' },
      );
      expect(after - before).toBe(1);
      expect(sub.error).toBeUndefined();
      sub.unsubscribe();
    } finally {
      await client.dispose();
    }
  });

  it('the worker exposes rows, duplicates, DLQ by code and a lag back at zero; the DLQ keeps the request id', async () => {
    const worker: ConsumerProcess = createConsumerProcess({
      config: workerConfig(topics, group, { CONSUMER_METRICS_PORT: '0' }),
      logger: createLogger({ logLevel: 'warn' }, 'consumer-test'),
      print: () => undefined,
    });
    const { opsUrl } = await worker.start();
    try {
      expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
      expect((await fetch(`${opsUrl}/healthz`)).status).toBe(200);

      // One repeat of a stored identity, one message that is not JSON, both from another producer.
      await produce(kafka, topics.topic, [
        {
          key: user,
          value: JSON.stringify(reading(user, 0)),
          headers: { 'schema-version': '1', 'request-id': 'dup-req' },
        },
        { key: user, value: '{not json', headers: { 'request-id': 'metrics-bad-req' } },
      ]);

      const text = await waitFor(
        async () => {
          const t = await scrape(`${opsUrl}/metrics`);
          return sample(t, 'fitbit_consumer_rows_inserted_total') === 7 &&
            sample(t, 'fitbit_consumer_dlq_messages_total', { code: 'INVALID_JSON' }) === 1 &&
            sample(t, 'fitbit_consumer_duplicates_total') === 1 &&
            exposes(t, 'fitbit_consumer_lag') &&
            sample(t, 'fitbit_consumer_lag') === 0
            ? t
            : undefined;
        },
        { timeoutMs: 40_000, what: 'worker metrics to show 7 rows, 1 duplicate, 1 INVALID_JSON and no lag' },
      );
      expect(sample(text, 'fitbit_consumer_dlq_messages_total')).toBe(1);
      expect(sample(text, 'fitbit_consumer_messages_total')).toBe(9);
      expect(sample(text, 'fitbit_consumer_up')).toBe(1);
      expect(sample(text, 'fitbit_consumer_assigned_partitions')).toBe(6);
      expect(await countRows(pool, [user])).toBe(7);

      // Every series the alert rules use is one of the two processes really exports.
      const gatewayText = await scrape(metricsUrl);
      const used = new Set(readFileSync('ops/prometheus/alerts.yml', 'utf8').match(/\bfitbit_\w+/g) ?? []);
      expect(used.size).toBeGreaterThan(5);
      for (const name of used)
        expect(exposes(text, name) || exposes(gatewayText, name), `${name} is exported`).toBe(true);

      const dead = await collect(
        kafka,
        topics.dlqTopic,
        [{ partition: 0, offset: '0' }],
        () => true,
        (all) => all.length >= 1,
      );
      expect(dead[0]!.headers['request-id']).toBe('metrics-bad-req');
      expect(dead[0]!.headers['error-code']).toBe('INVALID_JSON');

      // Not ready from the moment stop begins (the endpoints close last).
      const stopping = worker.stop();
      expect((await fetch(`${opsUrl}/readyz`)).status).toBe(503);
      await stopping;
    } finally {
      await worker.stop();
    }
  });
});
