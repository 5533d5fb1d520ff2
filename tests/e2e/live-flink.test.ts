/**
 * The whole live path: readings in through the `ingestReadings` mutation -> Kafka -> the Flink job
 * -> fitbit_processed / fitbit_alerts -> the gateway's live hub -> graphql-ws subscribers.
 *
 * Like the Flink job's own suite, this deploys its own copy of the job on its own three topics
 * (and points a gateway at them), so event times are under the test's control: readings are
 * stamped in a past hour and a "tick" on every partition moves the watermark past their windows,
 * so nothing waits for the wall clock. Defaults: 60 s windows, 30 s lateness, 100 bpm / 10 steps / 90 %.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Producer } from 'kafkajs';
import type { Client } from 'graphql-ws';
import { loadConfig } from '../../src/config.js';
import { cancelJobs, deployJob, flinkClients, liveJobs } from '../../src/flink/deploy.js';
import { jobSettingsFrom, type JobSettings } from '../../src/flink/job-sql.js';
import {
  ALERTS_QUERY,
  RESUMABLE_WINDOWS_QUERY,
  WINDOWS_QUERY,
  collectSubscription,
  startLiveGateway,
  testProducerKafka,
  wsClient,
  type AlertData,
  type LiveGateway,
  type ResumableWindowData,
  type WindowData,
} from '../helpers/live.js';
import { waitFor } from '../helpers/wait.js';
import { createTopics } from '../helpers/kafka.js';

const config = loadConfig();
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
const PARTITIONS = 6;
const MINUTE = 60_000;
const settings: JobSettings = {
  ...jobSettingsFrom(config),
  jobName: `fitbit-processing-live-e2e-${run}`,
  consumerGroup: `flink-live-e2e-${run}`,
  topics: {
    ingestion: `live_e2e_${run}_ingestion`,
    processed: `live_e2e_${run}_processed`,
    alerts: `live_e2e_${run}_alerts`,
  },
  windowSeconds: 60,
  latenessSeconds: 30,
  alerts: { restHeartRateBpm: 100, restStepsMax: 10, spo2Min: 90 },
};
const clients = flinkClients(config);
const kafka = testProducerKafka();
const iso = (ms: number): string => new Date(ms).toISOString();

const INGEST = /* GraphQL */ `
  mutation Ingest($readings: [ReadingInput!]!) {
    ingestReadings(readings: $readings) {
      accepted
      rejected {
        index
        code
        message
      }
    }
  }
`;

describe('live subscriptions fed by the Flink job', () => {
  let gw: LiveGateway;
  let producer: Producer;
  let ws: Client;
  // Each test takes its own hour of 2024: the job's watermark only moves forward.
  let nextHour = Date.UTC(2024, 5, 1);
  const freshHour = () => (nextHour += 3_600_000) - 3_600_000;

  const ingest = async (readings: { userId: string; metric: string; time: string; value: number }[]) => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: INGEST, variables: { readings } }),
    });
    const body = (await res.json()) as { data?: { ingestReadings: { accepted: number } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data?.ingestReadings.accepted).toBe(readings.length);
  };

  /** A reading on every partition at `time`, so every partition's watermark reaches `time` - lateness. */
  const tick = async (time: number) => {
    const userId = `tick-${run}`;
    await producer.send({
      topic: settings.topics.ingestion,
      acks: -1,
      messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
        partition,
        key: userId,
        value: JSON.stringify({ userId, metric: 'steps', time: iso(time), value: 0 }),
        headers: { 'schema-version': '1' },
      })),
    });
  };
  const closing = (windowEnd: number) => windowEnd + settings.latenessSeconds * 1000 + 1000;

  beforeAll(async () => {
    await createTopics(kafka, Object.values(settings.topics), PARTITIONS);
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    gw = await startLiveGateway({
      KAFKA_TOPIC: settings.topics.ingestion,
      KAFKA_PROCESSED_TOPIC: settings.topics.processed,
      KAFKA_ALERTS_TOPIC: settings.topics.alerts,
    });
    ws = wsClient(gw.wsUrl);
    const deployed = await deployJob(clients, settings);
    expect(deployed.action).toBe('submitted');
  }, 150_000);

  afterAll(async () => {
    await ws?.dispose();
    await gw?.stop();
    const jobs = await liveJobs(clients.jobManager, settings.jobName).catch(() => []);
    if (jobs.length > 0)
      await cancelJobs(
        clients.jobManager,
        jobs.map((j) => j.id),
      );
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: Object.values(settings.topics) });
      await admin.deleteGroups([settings.consumerGroup]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  it('delivers the exact window Flink computes from readings ingested through the mutation', async () => {
    const base = freshHour();
    const user = `live-e2e-w-${run}`;
    const windows = collectSubscription<WindowData>(ws, WINDOWS_QUERY, { userId: user, metrics: ['HEART_RATE'] });
    await waitFor(() => gw.gateway.services.live.stats().windowSubscribers >= 1, {
      timeoutMs: 10_000,
      what: 'subscribed',
    });

    await ingest([
      { userId: user, metric: 'HEART_RATE', time: iso(base + 5_000), value: 60 },
      { userId: user, metric: 'HEART_RATE', time: iso(base + 20_000), value: 70 },
      { userId: user, metric: 'STEPS', time: iso(base + 30_000), value: 500 },
      { userId: user, metric: 'HEART_RATE', time: iso(base + 40_000), value: 83 },
      { userId: user, metric: 'HEART_RATE', time: iso(base + 70_000), value: 90 },
    ]);
    await tick(closing(base + MINUTE));

    await waitFor(() => windows.data.length >= 1, { timeoutMs: 60_000, what: 'the first heart-rate window' });
    expect(windows.data[0]?.metricWindows).toEqual({
      userId: user,
      metric: 'HEART_RATE',
      windowStart: iso(base),
      windowEnd: iso(base + MINUTE),
      count: 3,
      avg: 71,
      min: 60,
      max: 83,
      sum: 213,
      dropped: 0,
    });
    // The filter held (the steps window went by) and the second window is still open.
    expect(windows.data).toHaveLength(1);
    windows.unsubscribe();
  }, 90_000);

  it('delivers an alert raised by the Flink rule to a user and an everyone subscriber', async () => {
    const base = freshHour();
    const user = `live-e2e-a-${run}`;
    const mine = collectSubscription<AlertData>(ws, ALERTS_QUERY, { userId: user });
    const everyone = collectSubscription<AlertData>(ws, ALERTS_QUERY, {});
    await waitFor(() => gw.gateway.services.live.stats().alertSubscribers >= 2, {
      timeoutMs: 10_000,
      what: 'subscribed',
    });

    await ingest([
      { userId: user, metric: 'SPO2', time: iso(base + 10_000), value: 96 },
      { userId: user, metric: 'SPO2', time: iso(base + 30_000), value: 85 },
    ]);
    await tick(closing(base + MINUTE));

    await waitFor(() => mine.data.length >= 1, { timeoutMs: 60_000, what: 'the low_spo2 alert' });
    const alert = mine.data[0]?.alerts;
    expect(alert).toMatchObject({
      alertId: `low_spo2:${user}:${iso(base)}`,
      userId: user,
      kind: 'low_spo2',
      time: iso(base),
      dropped: 0,
    });
    expect(alert?.details).toMatchObject({ spo2Min: 85, spo2Threshold: 90 });
    await waitFor(() => everyone.data.some((d) => d.alerts.alertId === alert?.alertId), {
      timeoutMs: 10_000,
      what: 'everyone subscriber',
    });
    mine.unsubscribe();
    everyone.unsubscribe();
  }, 90_000);

  it("resumes after window 1's cursor with window 2, which closed while the client was away, once", async () => {
    const base = freshHour();
    const user = `live-e2e-r-${run}`;
    const away = wsClient(gw.wsUrl);
    const first = collectSubscription<ResumableWindowData>(away, RESUMABLE_WINDOWS_QUERY, { userId: user });
    // Stays connected throughout: it shows when window 2 has been published.
    const observer = collectSubscription<ResumableWindowData>(ws, RESUMABLE_WINDOWS_QUERY, { userId: user });
    await waitFor(() => gw.gateway.services.live.stats().windowSubscribers >= 2, {
      timeoutMs: 10_000,
      what: 'subscribed',
    });

    await ingest([
      { userId: user, metric: 'HEART_RATE', time: iso(base + 10_000), value: 61 },
      { userId: user, metric: 'HEART_RATE', time: iso(base + MINUTE + 10_000), value: 62 },
      { userId: user, metric: 'HEART_RATE', time: iso(base + MINUTE + 20_000), value: 64 },
    ]);
    await tick(closing(base + MINUTE));
    await waitFor(() => first.data.length >= 1, { timeoutMs: 60_000, what: 'window 1' });
    const cursor = first.data[0]!.metricWindows.cursor;
    expect(first.data[0]!.metricWindows).toMatchObject({ windowStart: iso(base), sum: 61 });
    await away.dispose(); // the client goes away

    await tick(closing(base + 2 * MINUTE));
    await waitFor(() => observer.data.length >= 2, { timeoutMs: 60_000, what: 'window 2 published' });

    const back = wsClient(gw.wsUrl);
    try {
      const resumed = collectSubscription<ResumableWindowData>(back, RESUMABLE_WINDOWS_QUERY, {
        userId: user,
        after: cursor,
      });
      await waitFor(() => resumed.data.length >= 1, { timeoutMs: 10_000, what: 'the replay' });
      await new Promise((r) => setTimeout(r, 1_000)); // room for a wrong second delivery to show
      expect(resumed.data.map((d) => [d.metricWindows.windowStart, d.metricWindows.sum])).toEqual([
        [iso(base + MINUTE), 126],
      ]);
      expect(resumed.data[0]!.metricWindows.cursor).toBe(observer.data[1]!.metricWindows.cursor);
    } finally {
      observer.unsubscribe();
      await back.dispose();
    }
  }, 150_000);
});
