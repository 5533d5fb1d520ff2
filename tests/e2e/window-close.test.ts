/**
 * Windows close by the wall clock: with the gateway's heartbeat running, a window is emitted by its
 * end + lateness + 10 s even when nothing else arrives, anywhere. The suite deploys its own copy of
 * the job on its own topics with the default 60 s windows and 30 s lateness; the only traffic on
 * its ingestion topic is what each test sends plus the heartbeats of its gateway.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { loadConfig } from '../../src/config.js';
import { cancelJobs, deployJob, flinkClients, liveJobs } from '../../src/flink/deploy.js';
import { jobSettingsFrom, type JobSettings } from '../../src/flink/job-sql.js';
import {
  WINDOWS_QUERY,
  collectSubscription,
  startLiveGateway,
  testProducerKafka,
  wsClient,
  type LiveGateway,
  type WindowData,
} from '../helpers/live.js';
import { waitFor } from '../helpers/wait.js';
import { createTopics } from '../helpers/kafka.js';

const config = loadConfig();
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
const WINDOW_MS = 60_000;
const LATENESS_MS = 30_000;
/** What the contract allows after end + lateness. */
const SLACK_MS = 10_000;
const settings: JobSettings = {
  ...jobSettingsFrom(config),
  jobName: `fitbit-processing-close-e2e-${run}`,
  consumerGroup: `flink-close-e2e-${run}`,
  topics: {
    ingestion: `close_e2e_${run}_ingestion`,
    processed: `close_e2e_${run}_processed`,
    alerts: `close_e2e_${run}_alerts`,
  },
  windowSeconds: WINDOW_MS / 1000,
  latenessSeconds: LATENESS_MS / 1000,
  alerts: { restHeartRateBpm: 100, restStepsMax: 10, spo2Min: 90 },
};
const clients = flinkClients(config);
const kafka = testProducerKafka();
const iso = (ms: number): string => new Date(ms).toISOString();

const INGEST = /* GraphQL */ `
  mutation Ingest($readings: [ReadingInput!]!) {
    ingestReadings(readings: $readings) {
      accepted
    }
  }
`;

describe('windows close by the wall clock', () => {
  let gw: LiveGateway;
  let ws: Client;

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

  /** Readings a few seconds before now, all in the window that is open now; returns that window's bounds. */
  const currentWindow = (): { start: number; end: number } => {
    const start = Math.floor((Date.now() - 2_000) / WINDOW_MS) * WINDOW_MS;
    return { start, end: start + WINDOW_MS };
  };

  beforeAll(async () => {
    await createTopics(kafka, Object.values(settings.topics), 6);
    gw = await startLiveGateway({
      KAFKA_TOPIC: settings.topics.ingestion,
      KAFKA_PROCESSED_TOPIC: settings.topics.processed,
      KAFKA_ALERTS_TOPIC: settings.topics.alerts,
      // The default interval, on: this suite is about the heartbeat.
      FLINK_HEARTBEAT_INTERVAL_MS: '2000',
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
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: Object.values(settings.topics) });
      await admin.deleteGroups([settings.consumerGroup]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  it("emits one quiet user's window by its end + lateness + 10 s, with no later reading", async () => {
    const user = `close-quiet-${run}`;
    const windows = collectSubscription<WindowData>(ws, WINDOWS_QUERY, { userId: user });
    await waitFor(() => gw.gateway.services.live.stats().windowSubscribers >= 1, {
      timeoutMs: 10_000,
      what: 'subscribed',
    });

    const { start, end } = currentWindow();
    const t = Math.max(start, Date.now() - 1_000);
    await ingest([
      { userId: user, metric: 'HEART_RATE', time: iso(t), value: 61 },
      { userId: user, metric: 'HEART_RATE', time: iso(t + 1), value: 63 },
    ]);

    const deadline = end + LATENESS_MS + SLACK_MS;
    await waitFor(() => windows.data.length >= 1, {
      timeoutMs: Math.max(1_000, deadline - Date.now()),
      what: `the window ending ${iso(end)} by ${iso(deadline)}`,
    });
    const arrived = Date.now();
    expect(arrived).toBeLessThanOrEqual(deadline);
    // Not early either: the lateness still holds the window open for out-of-order readings.
    expect(arrived).toBeGreaterThanOrEqual(end + LATENESS_MS);
    expect(windows.data[0]?.metricWindows).toMatchObject({
      userId: user,
      metric: 'HEART_RATE',
      windowStart: iso(start),
      windowEnd: iso(end),
      count: 2,
      sum: 124,
    });
    windows.unsubscribe();
  }, 180_000);

  it('keeps a future-stamped reading from pushing the watermark past the wall clock', async () => {
    const user = `close-now-${run}`;
    const other = `close-future-${run}`;
    const windows = collectSubscription<WindowData>(ws, WINDOWS_QUERY, { userId: user });
    await waitFor(() => gw.gateway.services.live.stats().windowSubscribers >= 1, {
      timeoutMs: 10_000,
      what: 'subscribed',
    });

    // A device four minutes ahead (inside the 5-minute rule) writes first ...
    await ingest([{ userId: other, metric: 'STEPS', time: iso(Date.now() + 4 * 60_000), value: 3 }]);
    // ... and a reading stamped now still lands in its window instead of being dropped as late.
    const { start, end } = currentWindow();
    await ingest([{ userId: user, metric: 'STEPS', time: iso(Math.max(start, Date.now() - 1_000)), value: 7 }]);

    const deadline = end + LATENESS_MS + SLACK_MS;
    await waitFor(() => windows.data.length >= 1, {
      timeoutMs: Math.max(1_000, deadline - Date.now()),
      what: `the window ending ${iso(end)} by ${iso(deadline)}`,
    });
    expect(Date.now()).toBeLessThanOrEqual(deadline);
    expect(windows.data[0]?.metricWindows).toMatchObject({ userId: user, windowStart: iso(start), count: 1, sum: 7 });
    windows.unsubscribe();
  }, 180_000);
});
