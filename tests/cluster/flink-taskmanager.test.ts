/**
 * Cluster profile: one of the two Flink TaskManagers killed with SIGKILL while a private copy of
 * the processing job runs (own name, own topics, one subtask per partition spread over both
 * TaskManagers, checkpoints every 2 s), and NOT started again until the end. Pass: the job restarts
 * from its last completed checkpoint on the surviving TaskManager alone (restores > 0, back to
 * RUNNING with every subtask there); a window whose readings straddle the kill is emitted with the
 * exact aggregate, on the topic and to a graphql-ws subscriber, which sees each window once.
 * afterAll starts the killed TaskManager again whatever happened.
 */
import { randomUUID } from 'node:crypto';
import { Partitioners, type Producer } from 'kafkajs';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { cancelJobs, deployJob, flinkClients, liveJobs } from '../../src/flink/deploy.js';
import { jobSettingsFrom, type JobSettings } from '../../src/flink/job-sql.js';
import { flink as flinkService } from '../../stack/services/flink.js';
import { runningPid } from '../../stack/lib/process.js';
import {
  collectSubscription,
  startLiveGateway,
  wsClient,
  WINDOWS_QUERY,
  type Collected,
  type LiveGateway,
  type WindowData,
} from '../helpers/live.js';
import { collect, testKafka, createTopics } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { faultStackContext, restore } from '../helpers/faults.js';

const run = uniqueId('cluster_tmkill').replace(/-/g, '_');
const MINUTE = 60_000;
const config = loadConfig({ ...process.env, FLINK_CHECKPOINT_INTERVAL_MS: '2000' });
const PARTITIONS = config.kafka.partitions;
const settings: JobSettings = {
  ...jobSettingsFrom(config),
  jobName: `fitbit-processing-${run}`,
  consumerGroup: `flink-${run}`,
  topics: { ingestion: `${run}_ingestion`, processed: `${run}_processed`, alerts: `${run}_alerts` },
  windowSeconds: 60,
  latenessSeconds: 30,
  alerts: { restHeartRateBpm: 100, restStepsMax: 10, spo2Min: 90 },
};
const clients = flinkClients(config);
const user = `${run}-user`;
const tickUser = `${run}-tick`;
// An hour of 2024 of its own: event time is under the test's control and far from "now".
const base = Date.UTC(2024, 2, 1) + Math.floor(Math.random() * 500) * 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

interface Checkpoints {
  counts: { completed: number; restored: number };
  latest: {
    completed: { id: number; latest_ack_timestamp: number } | null;
    restored: { id: number; restore_timestamp: number } | null;
  };
}

async function rest<T>(path: string): Promise<T> {
  const res = await fetch(`${config.flink.restUrl}${path}`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
  return (await res.json()) as T;
}

/**
 * Failures the JobManager recorded for the job (its exception history). The `numRestarts` metric
 * stays 0 here: with the region failover strategy a TaskManager loss is a regional restart, which
 * that metric does not count, so the restore count of the checkpoint statistics is used beside it.
 */
async function failures(jobId: string): Promise<string[]> {
  const e = await rest<{ exceptionHistory: { entries: { exceptionName: string }[] } }>(`/jobs/${jobId}/exceptions`);
  return e.exceptionHistory.entries.map((x) => x.exceptionName);
}

/** Subtasks of the job per TaskManager id (the REST API's `taskmanagers` view of the job's vertices). */
async function subtasksPerTaskManager(jobId: string): Promise<Map<string, number>> {
  const job = await rest<{ vertices: { id: string }[] }>(`/jobs/${jobId}`);
  const out = new Map<string, number>();
  for (const v of job.vertices) {
    const tms = await rest<{ taskmanagers: { 'taskmanager-id': string; 'status-counts': Record<string, number> }[] }>(
      `/jobs/${jobId}/vertices/${v.id}/taskmanagers`,
    );
    for (const t of tms.taskmanagers) {
      const running = t['status-counts'].RUNNING ?? 0;
      out.set(t['taskmanager-id'], (out.get(t['taskmanager-id']) ?? 0) + running);
    }
  }
  return out;
}

/** RUNNING with every task RUNNING (a job can be RUNNING while its tasks are still being deployed). */
async function fullyRunning(jobId: string): Promise<boolean> {
  const job = await rest<{ state: string; vertices: { status: string }[] }>(`/jobs/${jobId}`);
  return job.state === 'RUNNING' && job.vertices.every((v) => v.status === 'RUNNING');
}

describe('cluster: one of two Flink TaskManagers SIGKILLed under a running job', () => {
  const ctx = faultStackContext();
  const kafka = testKafka();
  let producer: Producer;
  let gateway: LiveGateway;
  let ws: Client;
  let sub: Collected<WindowData>;
  let jobId: string;

  const send = (time: number, value: number, metric = 'steps', key = user) =>
    producer.send({
      topic: settings.topics.ingestion,
      acks: -1,
      messages: [
        {
          key,
          value: JSON.stringify({ eventId: randomUUID(), userId: key, metric, time: iso(time), value }),
          headers: { 'schema-version': '1' },
        },
      ],
    });
  /** A reading on every partition, so every partition's watermark passes `windowEnd` + lateness. */
  const tick = (windowEnd: number) =>
    producer.send({
      topic: settings.topics.ingestion,
      acks: -1,
      messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
        partition,
        key: tickUser,
        value: JSON.stringify({
          userId: tickUser,
          metric: 'steps',
          time: iso(windowEnd + settings.latenessSeconds * 1000 + 1000),
          value: 0,
        }),
      })),
    });

  beforeAll(async () => {
    await createTopics(kafka, Object.values(settings.topics), PARTITIONS);
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    gateway = await startLiveGateway({
      KAFKA_TOPIC: settings.topics.ingestion,
      KAFKA_PROCESSED_TOPIC: settings.topics.processed,
      KAFKA_ALERTS_TOPIC: settings.topics.alerts,
      LOG_LEVEL: 'error',
    });
    ws = wsClient(gateway.wsUrl);
    sub = collectSubscription<WindowData>(ws, WINDOWS_QUERY, { userId: user });
    const deployed = await deployJob(clients, settings);
    jobId = deployed.jobId;
    await waitFor(() => fullyRunning(jobId), { timeoutMs: 60_000, what: 'the private job running' });
  }, 120_000);

  afterAll(async () => {
    // The TaskManager first: the cluster must be whole again for the next file.
    await restore(ctx, flinkService);
    await ws?.dispose();
    await gateway?.stop();
    await producer?.disconnect();
    const live = await liveJobs(clients.jobManager, settings.jobName).catch(() => []);
    if (live.length > 0)
      await cancelJobs(
        clients.jobManager,
        live.map((j) => j.id),
      ).catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(settings.topics) }).catch(() => undefined);
    await admin.deleteGroups([settings.consumerGroup]).catch(() => undefined);
    await admin.disconnect();
  }, 240_000);

  it('restarts from its checkpoint and emits the window straddling the kill with the exact aggregate', async () => {
    // Window 0 closes before the kill; window 1 gets 3 readings before and 2 after.
    await send(base + 5_000, 7);
    await send(base + 20_000, 3);
    for (const [at, v] of [
      [MINUTE + 1_000, 11],
      [MINUTE + 10_000, 13],
      [MINUTE + 20_000, 17],
    ] as const)
      await send(base + at, v);
    await tick(base + MINUTE);
    await waitFor(() => sub.data.some((d) => d.metricWindows.windowStart === iso(base)), {
      timeoutMs: 40_000,
      what: 'window 0 on the subscription',
    });
    const window0At = Date.now();
    expect(sub.data.map((d) => d.metricWindows)).toMatchObject([{ windowStart: iso(base), count: 2, sum: 10 }]);

    // Window 1's first readings were read before the tick (same partition, in order); a checkpoint
    // completed after window 0 came out holds them in state.
    const checkpointed = await waitFor(
      async () => {
        const c = await rest<Checkpoints>(`/jobs/${jobId}/checkpoints`);
        return (c.latest.completed?.latest_ack_timestamp ?? 0) > window0At ? c.latest.completed! : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'a checkpoint after window 0' },
    );
    const restoresBefore = (await rest<Checkpoints>(`/jobs/${jobId}/checkpoints`)).counts.restored;
    expect(await failures(jobId)).toEqual([]);

    // Both TaskManagers run subtasks of the job (slots spread evenly), so the kill interrupts it.
    const before = await subtasksPerTaskManager(jobId);
    expect(before.size, 'subtasks on both TaskManagers').toBe(2);
    const victim = 'flink-taskmanager-1';
    const pid = runningPid(ctx.paths, victim);
    expect(pid, 'the cluster runs two TaskManagers').toBeDefined();
    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    await waitFor(() => runningPid(ctx.paths, victim) === undefined, {
      timeoutMs: 10_000,
      what: 'the TaskManager gone',
    });

    // Window 1's other readings arrive while the job recovers on the survivor.
    await send(base + MINUTE + 30_000, 19);
    await send(base + MINUTE + 50_000, 23);

    // No restart of the killed TaskManager: the JobManager notices its loss by failed heartbeats,
    // restarts the job from the latest checkpoint, and deploys every subtask into the survivor.
    const recovered = await waitFor(
      async () => {
        const c = await rest<Checkpoints>(`/jobs/${jobId}/checkpoints`);
        if (c.counts.restored <= restoresBefore || (c.latest.restored?.restore_timestamp ?? 0) < killedAt)
          return undefined;
        return (await fullyRunning(jobId))
          ? { ...c.latest.restored!, restores: c.counts.restored - restoresBefore }
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'the job restarted from a checkpoint and running' },
    );
    const recoveredMs = Date.now() - killedAt;
    expect(recovered.id).toBeGreaterThanOrEqual(checkpointed.id);
    expect(recovered.restores).toBeGreaterThan(0);
    const after = await subtasksPerTaskManager(jobId);
    expect(after.size, 'every subtask on the surviving TaskManager').toBe(1);
    const failed = await failures(jobId);
    expect(failed.length, "the TaskManager loss is in the job's exception history").toBeGreaterThan(0);

    await tick(base + 2 * MINUTE);
    const w1 = await waitFor(
      () => sub.data.find((d) => d.metricWindows.windowStart === iso(base + MINUTE))?.metricWindows,
      {
        timeoutMs: 40_000,
        what: 'window 1 on the subscription',
      },
    );
    const windowAfterKillMs = Date.now() - killedAt;
    expect(w1).toMatchObject({
      userId: user,
      metric: 'STEPS',
      count: 5,
      sum: 83,
      min: 11,
      max: 23,
      windowEnd: iso(base + 2 * MINUTE),
    });
    expect(sub.error).toBeUndefined();

    // On the topic: every emission of each window carries the exact aggregate (the sink is
    // at-least-once, so a window emitted again after a restart must be the same window).
    const emitted = await collect(
      kafka,
      settings.topics.processed,
      Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: '0' })),
      (m) => m.key === user,
      (all) => all.some((m) => m.value?.includes(iso(base + MINUTE))),
      30_000,
    );
    const windows = emitted.map((m) => JSON.parse(m.value!) as { windowStart: string; count: number; sum: number });
    for (const w of windows) {
      expect(w).toMatchObject(
        w.windowStart === iso(base) ? { count: 2, sum: 10 } : { windowStart: iso(base + MINUTE), count: 5, sum: 83 },
      );
    }
    // The subscriber saw each window once (the gateway drops repeats).
    expect(sub.data.map((d) => d.metricWindows.windowStart)).toEqual([iso(base), iso(base + MINUTE)]);
    console.log(
      JSON.stringify({
        checkpointBeforeKill: checkpointed.id,
        restoredCheckpoint: recovered.id,
        restoresFromCheckpoint: recovered.restores,
        failuresRecorded: failed,
        subtasksPerTaskManagerBefore: [...before.values()],
        jobRunningOnSurvivorMs: recoveredMs,
        straddlingWindowOutMs: windowAfterKillMs,
        emissionsOnTopic: windows.length,
      }),
    );
  }, 240_000);
});
