/**
 * One of two Flink TaskManagers SIGKILLed while a private copy of the processing job runs at the
 * cluster's parallelism (one subtask per partition, spread over both TaskManagers, checkpoints
 * every 2 s). The killed TaskManager stays down. Pass: the job restarts from its last checkpoint
 * and runs again entirely on the surviving TaskManager (each has the slots for the whole job);
 * for users on several partitions, the window straddling the kill is emitted with the exact
 * aggregate, every emission on the topic is exact, and a graphql-ws subscriber of each user sees
 * each window once. afterAll starts the TaskManager again.
 */
import { randomUUID } from 'node:crypto';
import { Partitioners, type Producer } from 'kafkajs';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { cancelJobs, deployJob, flinkClients, liveJobs } from '../../src/flink/deploy.js';
import { jobSettingsFrom, type JobSettings } from '../../src/flink/job-sql.js';
import { keyPartition } from '../../src/kafka/partitioner.js';
import { flink as flinkService, taskManagerNames } from '../../stack/services/flink.js';
import { bringUp } from '../../stack/lib/context.js';
import { runningPid } from '../../stack/lib/process.js';
import type { StackContext } from '../../stack/lib/service.js';
import {
  collectSubscription,
  startLiveGateway,
  wsClient,
  WINDOWS_QUERY,
  type Collected,
  type LiveGateway,
  type WindowData,
} from '../helpers/live.js';
import { collect, createTopics, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { useCluster } from './cluster.js';

const run = uniqueId('tm2kill').replace(/-/g, '_');
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
const tickUser = `${run}-tick`;
/** Three users on three different partitions, so the job's work is spread over both TaskManagers. */
const users = (() => {
  const chosen: string[] = [];
  const taken = new Set<number>();
  for (let i = 0; chosen.length < 3; i++) {
    const u = `${run}-user${i}`;
    const p = keyPartition(u, PARTITIONS);
    if (!taken.has(p)) {
      taken.add(p);
      chosen.push(u);
    }
  }
  return chosen;
})();
const base = Date.UTC(2024, 3, 1) + Math.floor(Math.random() * 500) * 3_600_000;
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

/** The TaskManager ids each running subtask of the job sits on. */
async function subtaskHosts(jobId: string): Promise<{ running: boolean; hosts: Set<string> }> {
  const job = await rest<{ state: string; vertices: { id: string; status: string }[] }>(`/jobs/${jobId}`);
  const hosts = new Set<string>();
  for (const v of job.vertices) {
    const detail = await rest<{ subtasks: { status: string; 'taskmanager-id': string }[] }>(
      `/jobs/${jobId}/vertices/${v.id}`,
    );
    for (const s of detail.subtasks) if (s.status === 'RUNNING') hosts.add(s['taskmanager-id']);
  }
  return { running: job.state === 'RUNNING' && job.vertices.every((v) => v.status === 'RUNNING'), hosts };
}

describe('one of two Flink TaskManagers SIGKILLed under a running job', () => {
  let ctx: StackContext;
  const kafka = testKafka();
  let producer: Producer;
  let gateway: LiveGateway;
  let ws: Client;
  const subs = new Map<string, Collected<WindowData>>();
  let jobId: string;

  const send = (time: number, value: number, key: string) =>
    producer.send({
      topic: settings.topics.ingestion,
      acks: -1,
      messages: [
        {
          key,
          value: JSON.stringify({ eventId: randomUUID(), userId: key, metric: 'steps', time: iso(time), value }),
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
    ctx = await useCluster();
    expect(taskManagerNames(ctx)).toHaveLength(2);
    expect(settings.parallelism).toBe(PARTITIONS);
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
    for (const u of users) subs.set(u, collectSubscription<WindowData>(ws, WINDOWS_QUERY, { userId: u }));
    jobId = (await deployJob(clients, settings)).jobId;
    await waitFor(async () => (await subtaskHosts(jobId)).running, {
      timeoutMs: 120_000,
      what: 'the private job running',
    });
  }, 240_000);

  afterAll(async () => {
    await bringUp(ctx, flinkService);
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
  }, 300_000);

  it('runs on the surviving TaskManager from its checkpoint and emits every window once, exact', async () => {
    const before = await subtaskHosts(jobId);
    expect(before.hosts.size, 'subtasks on both TaskManagers').toBe(2);

    // Per user: window 0 (2 readings) closes before the kill; window 1 gets 3 readings before, 2 after.
    for (const [i, u] of users.entries()) {
      await send(base + 5_000, 7 + i, u);
      await send(base + 20_000, 3, u);
      for (const at of [1_000, 10_000, 20_000]) await send(base + MINUTE + at, 10 + i, u);
    }
    await tick(base + MINUTE);
    await waitFor(() => users.every((u) => subs.get(u)!.data.some((d) => d.metricWindows.windowStart === iso(base))), {
      timeoutMs: 60_000,
      what: 'window 0 of every user on the subscriptions',
    });
    const window0At = Date.now();
    const checkpointed = await waitFor(
      async () => {
        const c = await rest<Checkpoints>(`/jobs/${jobId}/checkpoints`);
        return (c.latest.completed?.latest_ack_timestamp ?? 0) > window0At ? c.latest.completed! : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'a checkpoint after window 0' },
    );
    const restoresBefore = (await rest<Checkpoints>(`/jobs/${jobId}/checkpoints`)).counts.restored;

    const victim = taskManagerNames(ctx)[0]!;
    const killedAt = Date.now();
    process.kill(runningPid(ctx.paths, victim)!, 'SIGKILL');
    await waitFor(() => runningPid(ctx.paths, victim) === undefined, { timeoutMs: 10_000, what: 'TaskManager gone' });

    // Window 1's other readings arrive while the job fails over.
    for (const u of users) {
      await send(base + MINUTE + 30_000, 19, u);
      await send(base + MINUTE + 50_000, 23, u);
    }

    // Without the killed TaskManager: restored from a checkpoint and running, all on one host.
    const recovered = await waitFor(
      async () => {
        const c = await rest<Checkpoints>(`/jobs/${jobId}/checkpoints`);
        if (c.counts.restored <= restoresBefore || (c.latest.restored?.restore_timestamp ?? 0) < killedAt)
          return undefined;
        const now = await subtaskHosts(jobId);
        return now.running ? { ...c.latest.restored!, hosts: now.hosts } : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'the job restored and running on the surviving TaskManager' },
    );
    const recoveredMs = Date.now() - killedAt;
    expect(runningPid(ctx.paths, victim), 'the killed TaskManager is still down').toBeUndefined();
    expect(recovered.hosts.size).toBe(1);
    expect([...recovered.hosts][0]).not.toBe(undefined);
    expect(before.hosts.has([...recovered.hosts][0]!)).toBe(true);
    expect(recovered.id).toBeGreaterThanOrEqual(checkpointed.id);

    await tick(base + 2 * MINUTE);
    for (const [i, u] of users.entries()) {
      const w1 = await waitFor(
        () => subs.get(u)!.data.find((d) => d.metricWindows.windowStart === iso(base + MINUTE))?.metricWindows,
        { timeoutMs: 60_000, what: `window 1 of ${u} on the subscription` },
      );
      expect(w1).toMatchObject({ userId: u, count: 5, sum: 3 * (10 + i) + 42, min: Math.min(10 + i, 19), max: 23 });
    }
    const windowsOutMs = Date.now() - killedAt;

    // On the topic: every emission exact (the sink is at-least-once, so a repeat must be the same window).
    const emitted = await collect(
      kafka,
      settings.topics.processed,
      Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: '0' })),
      (m) => users.includes(m.key ?? ''),
      (all) => users.every((u) => all.some((m) => m.key === u && m.value?.includes(iso(base + MINUTE)))),
      30_000,
    );
    for (const m of emitted) {
      const i = users.indexOf(m.key!);
      const w = JSON.parse(m.value!) as { windowStart: string; count: number; sum: number };
      expect(w).toMatchObject(
        w.windowStart === iso(base)
          ? { count: 2, sum: 10 + i }
          : { windowStart: iso(base + MINUTE), count: 5, sum: 3 * (10 + i) + 42 },
      );
    }
    // Each subscriber saw each of its windows once (the gateway drops repeats).
    for (const u of users) {
      expect(subs.get(u)!.data.map((d) => d.metricWindows.windowStart)).toEqual([iso(base), iso(base + MINUTE)]);
      expect(subs.get(u)!.error).toBeUndefined();
    }
    console.log(
      `[cluster] flink taskmanager ${JSON.stringify({
        killed: victim,
        checkpointBeforeKill: checkpointed.id,
        restoredCheckpoint: recovered.id,
        jobRunningOnSurvivorMs: recoveredMs,
        windowsOutAfterKillMs: windowsOutMs,
        emissionsOnTopic: emitted.length,
      })}`,
    );
  }, 300_000);
});
