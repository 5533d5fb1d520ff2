/**
 * The processing job (flink/fitbit-processing.sql) on the real Kafka and Flink of the local stack.
 *
 * The suite deploys its own copy of the job under its own name, reading and writing its own three
 * topics, so its event times are under its control: every test takes a fresh hour of 2024, writes
 * readings into it and then moves the watermark past its windows with a "tick" reading on every
 * partition (a partition without data would otherwise hold the watermark back). Window size,
 * lateness and thresholds are the defaults (60 s, 30 s, 100 bpm / 10 steps / 90 %), set explicitly
 * so an .env cannot change the expected numbers. The job and the topics are removed afterwards.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { METRICS } from '../../src/domain/metrics.js';
import { cancelJobs, deployJob, jobStatusOf, liveJobs } from '../../src/flink/deploy.js';
import {
  jobSettingsFrom,
  PROCESSING_JOB_FILE,
  renderJobStatements,
  type JobSettings,
} from '../../src/flink/job-sql.js';
import { createJobManagerClient } from '../../src/flink/jobmanager.client.js';
import { createSqlGatewayClient } from '../../src/flink/sql-gateway.client.js';
import { createTopics } from '../helpers/kafka.js';

const config = loadConfig();
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
const PARTITIONS = 6;
const settings: JobSettings = {
  ...jobSettingsFrom(config),
  jobName: `fitbit-processing-test-${run}`,
  consumerGroup: `flink-test-${run}`,
  topics: {
    ingestion: `flink_test_${run}_ingestion`,
    processed: `flink_test_${run}_processed`,
    alerts: `flink_test_${run}_alerts`,
  },
  windowSeconds: 60,
  latenessSeconds: 30,
  alerts: { restHeartRateBpm: 100, restStepsMax: 10, spo2Min: 90 },
};
const clients = {
  jobManager: createJobManagerClient({ url: config.flink.restUrl }),
  sqlGateway: createSqlGatewayClient({ url: config.flink.sqlGatewayUrl }),
};

const kafka = new Kafka({
  clientId: `flink-job-test-${run}`,
  brokers: config.kafka.brokers,
  logLevel: logLevel.NOTHING,
});
const readerGroup = `flink-job-test-reader-${run}`;
let producer: Producer;
let consumer: Consumer;

interface MetricWindow {
  userId: string;
  metric: string;
  windowStart: string;
  windowEnd: string;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
}
interface Alert {
  alertId: string;
  userId: string;
  kind: string;
  time: string;
  message: string;
  details: Record<string, unknown>;
}
const windows: { key: string; value: MetricWindow }[] = [];
const alerts: { key: string; value: Alert }[] = [];

// Each test gets an hour of event time after the previous test's, because the job's watermark only moves forward.
let nextHour = Date.UTC(2024, 0, 1, 0, 0, 0);
function freshHour(): number {
  const base = nextHour;
  nextHour += 3_600_000;
  return base;
}
const iso = (ms: number): string => new Date(ms).toISOString();
const user = (name: string): string => `${name}-${run}`;

async function send(messages: { key: string; value: string }[]): Promise<void> {
  await producer.send({
    topic: settings.topics.ingestion,
    acks: -1,
    messages: messages.map((m) => ({ ...m, headers: { 'schema-version': '1' } })),
  });
}

function reading(userId: string, metric: string, time: number | string, value: number): { key: string; value: string } {
  const t = typeof time === 'number' ? iso(time) : time;
  return { key: userId, value: JSON.stringify({ eventId: randomUUID(), userId, metric, time: t, value }) };
}

/** A reading at `time` on every partition, so every partition's watermark reaches `time` minus the lateness. */
async function tick(time: number): Promise<void> {
  await producer.send({
    topic: settings.topics.ingestion,
    acks: -1,
    messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
      partition,
      key: user('tick'),
      value: JSON.stringify({ userId: user('tick'), metric: 'steps', time: iso(time), value: 0 }),
    })),
  });
}

/** The time a tick needs so that every window ending at or before `windowEnd` is emitted. */
const closing = (windowEnd: number): number => windowEnd + settings.latenessSeconds * 1000 + 1000;

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function untilAsync<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

/** Sum of `numLateRecordsDropped` over the window operators of the current test job. */
async function lateRecordsDropped(): Promise<number> {
  const [job] = await liveJobs(clients.jobManager, settings.jobName);
  if (job === undefined) return 0;
  const get = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${config.flink.restUrl}${path}`)).json()) as T;
  const { vertices } = await get<{ vertices: { id: string }[] }>(`/jobs/${job.id}`);
  let total = 0;
  for (const v of vertices) {
    const names = await get<{ id: string }[]>(`/jobs/${job.id}/vertices/${v.id}/metrics`);
    const wanted = names.map((m) => m.id).filter((id) => id.endsWith('.numLateRecordsDropped'));
    if (wanted.length === 0) continue;
    const values = await get<{ id: string; value: string }[]>(
      `/jobs/${job.id}/vertices/${v.id}/metrics?get=${encodeURIComponent(wanted.join(','))}`,
    );
    total += values.reduce((n, m) => n + Number(m.value), 0);
  }
  return total;
}

const windowsOf = (userId: string): MetricWindow[] =>
  windows.filter((w) => w.value.userId === userId).map((w) => w.value);
const alertsOf = (userId: string): Alert[] => alerts.filter((a) => a.value.userId === userId).map((a) => a.value);

function findWindow(userId: string, metric: string, start: number): MetricWindow | undefined {
  return windowsOf(userId).find((w) => w.metric === metric && w.windowStart === iso(start));
}

const waitWindow = (userId: string, metric: string, start: number): Promise<MetricWindow> =>
  until(`${metric} window ${iso(start)} of ${userId}`, () => findWindow(userId, metric, start));

const MINUTE = 60_000;

describe('Flink processing job SQL', () => {
  it('checks the same metric catalogue as the rest of the system', () => {
    const sql = readFileSync(PROCESSING_JOB_FILE, 'utf8');
    const ranges = Object.fromEntries(
      [...sql.matchAll(/WHEN '([a-z_0-9]+)' THEN `value` BETWEEN (-?[\d.]+) AND (-?[\d.]+)/g)].map((m) => [
        m[1],
        { min: Number(m[2]), max: Number(m[3]) },
      ]),
    );
    const expected = Object.fromEntries(Object.entries(METRICS).map(([k, v]) => [k, { min: v.min, max: v.max }]));
    expect(ranges).toEqual(expected);
  });

  it('renders to statements with every placeholder filled and the statement set in one piece', () => {
    const statements = renderJobStatements(settings);
    expect(statements.join('\n')).not.toContain('${');
    expect(statements.filter((s) => /^EXECUTE STATEMENT SET/.test(s))).toHaveLength(1);
    expect(statements.at(-1)).toMatch(/^EXECUTE STATEMENT SET\s+BEGIN[\s\S]*INSERT INTO alerts_sink[\s\S]*END$/);
    expect(statements[0]).toBe(`SET 'pipeline.name' = '${settings.jobName}'`);
  });
});

describe('Flink processing job', () => {
  let jobId: string;

  beforeAll(async () => {
    await createTopics(kafka, Object.values(settings.topics), PARTITIONS);
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    consumer = kafka.consumer({ groupId: readerGroup });
    await consumer.connect();
    await consumer.subscribe({ topics: [settings.topics.processed, settings.topics.alerts], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const key = message.key?.toString() ?? '';
        const value = JSON.parse(message.value?.toString() ?? 'null');
        if (topic === settings.topics.processed) windows.push({ key, value });
        else alerts.push({ key, value });
      },
    });
    const deployed = await deployJob(clients, settings);
    expect(deployed.action).toBe('submitted');
    jobId = deployed.jobId;
  }, 120_000);

  afterAll(async () => {
    const live = await liveJobs(clients.jobManager, settings.jobName).catch(() => []);
    if (live.length > 0)
      await cancelJobs(
        clients.jobManager,
        live.map((j) => j.id),
      );
    await consumer?.disconnect();
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: Object.values(settings.topics) });
      await admin.deleteGroups([readerGroup, settings.consumerGroup]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  it('writes the exact aggregates of two windows, keyed by user, once the watermark passes them', async () => {
    const base = freshHour();
    const u = user('two-windows');
    await send([
      reading(u, 'heart_rate', base + 5_000, 60),
      reading(u, 'steps', base + 10_000, 10),
      reading(u, 'heart_rate', base + 20_000, 70),
      reading(u, 'heart_rate', base + 40_000, 80),
      reading(u, 'steps', base + 50_000, 20),
      reading(u, 'heart_rate', base + 65_000, 90),
      reading(u, 'heart_rate', base + 100_000, 100),
    ]);
    await tick(closing(base + 2 * MINUTE));

    const hrFirst = await waitWindow(u, 'heart_rate', base);
    const stepsFirst = await waitWindow(u, 'steps', base);
    const hrSecond = await waitWindow(u, 'heart_rate', base + MINUTE);
    expect(hrFirst).toEqual({
      userId: u,
      metric: 'heart_rate',
      windowStart: iso(base),
      windowEnd: iso(base + MINUTE),
      count: 3,
      avg: 70,
      min: 60,
      max: 80,
      sum: 210,
    });
    expect(stepsFirst).toMatchObject({ count: 2, avg: 15, min: 10, max: 20, sum: 30, windowEnd: iso(base + MINUTE) });
    expect(hrSecond).toMatchObject({
      count: 2,
      avg: 95,
      min: 90,
      max: 100,
      sum: 190,
      windowEnd: iso(base + 2 * MINUTE),
    });
    expect(hrFirst.windowStart).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(windowsOf(u)).toHaveLength(3);
    expect(windows.filter((w) => w.value.userId === u).every((w) => w.key === u)).toBe(true);
  }, 60_000);

  it('puts an out-of-order reading inside the lateness into its window and drops one after the window closed', async () => {
    const base = freshHour();
    const u = user('out-of-order');
    // 40 s out of order: the watermark (newest minus 30 s) is then base+40 s, short of the first window's end.
    await send([
      reading(u, 'heart_rate', base + 70_000, 100),
      reading(u, 'heart_rate', base + 30_000, 50),
      reading(u, 'heart_rate', base + 10_000, 60),
    ]);
    await tick(closing(base + 2 * MINUTE));
    const first = await waitWindow(u, 'heart_rate', base);
    expect(first).toMatchObject({ count: 2, sum: 110, min: 50, max: 60 });
    expect(await waitWindow(u, 'heart_rate', base + MINUTE)).toMatchObject({ count: 1, sum: 100 });

    // The first window has been emitted, so the watermark is past its end: this reading is late.
    await send([reading(u, 'heart_rate', base + 20_000, 200), reading(u, 'heart_rate', base + 3 * MINUTE + 5_000, 75)]);
    await tick(closing(base + 4 * MINUTE));
    // Same partition, so once the later window is out, the late reading has been processed (and dropped).
    expect(await waitWindow(u, 'heart_rate', base + 3 * MINUTE)).toMatchObject({ count: 1, sum: 75 });
    const firstWindows = windowsOf(u).filter((w) => w.windowStart === iso(base));
    expect(firstWindows).toHaveLength(1);
    expect(firstWindows[0]).toMatchObject({ count: 2, sum: 110, max: 60 });
    // Dropped, and counted where docs/flink.md says to look (the JobManager refreshes metrics every few seconds).
    await untilAsync('a late record in numLateRecordsDropped', async () =>
      (await lateRecordsDropped()) > 0 ? true : undefined,
    );
  }, 60_000);

  it('raises alerts for elevated heart rate at rest and low SpO2, and stays silent otherwise', async () => {
    const base = freshHour();
    const restNoSteps = user('rest-no-steps');
    const restTenSteps = user('rest-ten-steps');
    const active = user('active');
    const calm = user('calm');
    const atThreshold = user('hr-at-threshold');
    const lowSpo2 = user('low-spo2');
    const spo2AtThreshold = user('spo2-at-threshold');
    const sentinel = user('sentinel');
    await send([
      // Fires: average 115 bpm and no steps window at all (counts as 0 steps).
      reading(restNoSteps, 'heart_rate', base + 5_000, 110),
      reading(restNoSteps, 'heart_rate', base + 25_000, 120),
      // Fires: 130 bpm with exactly the allowed 10 steps.
      reading(restTenSteps, 'heart_rate', base + 5_000, 130),
      reading(restTenSteps, 'steps', base + 10_000, 4),
      reading(restTenSteps, 'steps', base + 40_000, 6),
      // Silent: high heart rate while walking.
      reading(active, 'heart_rate', base + 5_000, 150),
      reading(active, 'steps', base + 6_000, 500),
      // Silent: resting heart rate.
      reading(calm, 'heart_rate', base + 5_000, 80),
      reading(calm, 'heart_rate', base + 35_000, 90),
      // Silent: exactly the threshold is not above it.
      reading(atThreshold, 'heart_rate', base + 5_000, 100),
      // Fires: one sample below 90 %.
      reading(lowSpo2, 'spo2', base + 5_000, 97),
      reading(lowSpo2, 'spo2', base + 15_000, 88),
      reading(lowSpo2, 'spo2', base + 25_000, 95),
      // Silent: exactly the threshold is not below it.
      reading(spo2AtThreshold, 'spo2', base + 5_000, 95),
      reading(spo2AtThreshold, 'spo2', base + 15_000, 90),
    ]);
    await tick(closing(base + MINUTE));

    const [a1] = await until('alert for resting user without steps', () =>
      alertsOf(restNoSteps).length > 0 ? alertsOf(restNoSteps) : undefined,
    );
    expect(a1).toEqual({
      alertId: `elevated_resting_heart_rate:${restNoSteps}:${iso(base)}`,
      userId: restNoSteps,
      kind: 'elevated_resting_heart_rate',
      time: iso(base),
      message: expect.stringContaining('115 bpm'),
      details: {
        windowStart: iso(base),
        windowEnd: iso(base + MINUTE),
        heartRateAvg: 115,
        heartRateThreshold: 100,
        steps: 0,
        stepsMax: 10,
      },
    });
    const [a2] = await until('alert for resting user with 10 steps', () =>
      alertsOf(restTenSteps).length > 0 ? alertsOf(restTenSteps) : undefined,
    );
    expect(a2).toMatchObject({ kind: 'elevated_resting_heart_rate', details: { heartRateAvg: 130, steps: 10 } });
    const [a3] = await until('low SpO2 alert', () => (alertsOf(lowSpo2).length > 0 ? alertsOf(lowSpo2) : undefined));
    expect(a3).toMatchObject({
      alertId: `low_spo2:${lowSpo2}:${iso(base)}`,
      kind: 'low_spo2',
      time: iso(base),
      details: { spo2Min: 88, spo2Threshold: 90, windowStart: iso(base), windowEnd: iso(base + MINUTE) },
    });
    expect(alerts.find((a) => a.value.userId === lowSpo2)?.key).toBe(lowSpo2);

    // Silence needs a point in time: a sentinel alert from a later window is written after anything
    // the first window could have produced.
    await send([reading(sentinel, 'spo2', base + 2 * MINUTE + 5_000, 70)]);
    await tick(closing(base + 3 * MINUTE));
    await until('sentinel alert', () => (alertsOf(sentinel).length > 0 ? true : undefined));
    for (const silent of [active, calm, atThreshold, spo2AtThreshold]) expect(alertsOf(silent)).toEqual([]);
    expect(alertsOf(restNoSteps)).toHaveLength(1);
    expect(alertsOf(lowSpo2)).toHaveLength(1);
    // The windows behind the silent cases were computed, so the silence is not a missing input.
    expect(findWindow(active, 'steps', base)).toMatchObject({ sum: 500 });
    expect(findWindow(atThreshold, 'heart_rate', base)).toMatchObject({ avg: 100 });
  }, 60_000);

  it('skips malformed messages without failing or restarting the job', async () => {
    const base = freshHour();
    const u = user('malformed');
    const offsetTime = (ms: number): string => {
      // The same instant written with a +02:00 offset and one fraction digit.
      const local = new Date(ms + 2 * 3_600_000).toISOString().replace(/\.(\d)\d\dZ$/, '.$1+02:00');
      return local;
    };
    await send([
      { key: u, value: 'not json at all' },
      { key: u, value: '{"userId":' },
      { key: u, value: '[1,2,3]' },
      { key: u, value: JSON.stringify({ userId: u, metric: 'heart_rate', time: iso(base + 1_000), value: 'fast' }) },
      { key: u, value: JSON.stringify({ userId: u, metric: 'heart_rate', time: iso(base + 1_000) }) },
      { key: u, value: JSON.stringify({ metric: 'heart_rate', time: iso(base + 1_000), value: 70 }) },
      reading('not a valid id!', 'heart_rate', base + 1_000, 70),
      reading(u, 'mood', base + 1_000, 5),
      reading(u, 'HEART_RATE', base + 1_000, 70),
      reading(u, 'heart_rate', base + 1_000, 400),
      reading(u, 'heart_rate', 'yesterday', 70),
      reading(u, 'heart_rate', '2024-13-45T00:00:00Z', 70),
      // Valid: whole seconds with Z, and an offset time that is base+30.5 s in UTC.
      reading(u, 'heart_rate', iso(base + 5_000).replace('.000Z', 'Z'), 70),
      reading(u, 'heart_rate', offsetTime(base + 30_500), 90),
    ]);
    await tick(closing(base + MINUTE));
    expect(await waitWindow(u, 'heart_rate', base)).toMatchObject({ count: 2, sum: 160, min: 70, max: 90 });
    expect(windowsOf(u)).toHaveLength(1);

    expect(await clients.jobManager.jobState(jobId)).toBe('RUNNING');
    const res = await fetch(`${config.flink.restUrl}/jobs/${jobId}/exceptions`);
    const exceptions = (await res.json()) as { exceptionHistory: { entries: unknown[] } };
    expect(exceptions.exceptionHistory.entries).toEqual([]);
  }, 60_000);

  it('deploys idempotently: a second deploy finds the running job and submits nothing', async () => {
    const again = await deployJob(clients, settings);
    expect(again).toEqual({ action: 'unchanged', jobId, state: 'RUNNING' });
    const live = await liveJobs(clients.jobManager, settings.jobName);
    expect(live.map((j) => j.id)).toEqual([jobId]);
    expect(await jobStatusOf(clients.jobManager, settings.jobName)).toEqual({
      running: true,
      state: 'RUNNING',
      jobId,
      instances: 1,
    });
  }, 30_000);

  it('replaces the job on request through a savepoint: one job afterwards, and a window open across the switch stays whole', async () => {
    const base = freshHour();
    const u = user('across-replace');
    await send([
      reading(u, 'steps', base + 1_000, 5),
      reading(u, 'steps', base + MINUTE + 1_000, 12),
      reading(u, 'steps', base + MINUTE + 2_000, 30),
    ]);
    // Closing only the first window proves the old job has read the second window's readings (same
    // partition, read in order) and holds them in state when the savepoint is taken.
    await tick(closing(base + MINUTE));
    expect(await waitWindow(u, 'steps', base)).toMatchObject({ count: 1, sum: 5 });

    const replaced = await deployJob(clients, settings, { replace: true });
    expect(replaced).toMatchObject({ action: 'replaced', state: 'RUNNING', replacedJobs: [jobId] });
    expect(replaced.jobId).not.toBe(jobId);
    expect(replaced.action === 'replaced' ? replaced.restoredFrom : undefined).toMatch(/savepoint/);
    expect(await clients.jobManager.jobState(jobId)).toBe('FINISHED');
    const live = await liveJobs(clients.jobManager, settings.jobName);
    expect(live.map((j) => j.id)).toEqual([replaced.jobId]);

    await send([reading(u, 'steps', base + MINUTE + 3_000, 8)]);
    await tick(closing(base + 2 * MINUTE));
    expect(await waitWindow(u, 'steps', base + MINUTE)).toMatchObject({ count: 3, sum: 50 });
    expect(windowsOf(u)).toHaveLength(2);
  }, 90_000);
});
