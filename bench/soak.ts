/**
 * `npm run soak -- --minutes N`: the cluster profile (STACK_PROFILE=cluster) under steady ingest
 * for N minutes while a random fault is injected every 2-4 minutes (bench/lib/soak-faults.ts;
 * `--fault-min-s`/`--fault-max-s` change the gap, `--faults` the kinds).
 *
 * It runs its own pipeline beside whatever else uses the cluster: private topics at the cluster's
 * replication, a gateway and a consumer worker as child processes, and the processing job under a
 * private name. Clients post batches through `ingestReadings` and retry retriable Kafka failures a
 * bounded number of times. Gateway and worker memory (VmRSS) is sampled every 30 s.
 *
 * At the end, with the load stopped and the worker drained, it checks that
 *  - every batch was acknowledged within the attempt bound, with retriable codes only;
 *  - every acknowledged reading is stored exactly once (by event id);
 *  - every closed window the job emitted equals a recomputation from the readings on the topic;
 *  - gateway and worker memory is flat (last third against first third: under 20% or 50 MB more).
 * It prints one JSON summary and exits 1 on any violation (2 when it could not run).
 */
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { cancelJobs, deployJob, flinkClients } from '../src/flink/deploy.js';
import { jobSettingsFrom } from '../src/flink/job-sql.js';
import { ensureTopics } from '../src/kafka/topics.js';
import { createStackContext } from '../stack/lib/context.js';
import { freePort, startChild, type Child } from '../tests/helpers/faults.js';
import { FAULT_KINDS, injectFault, pick, restoreCluster, type FaultKind, type FaultRecord } from './lib/soak-faults.js';
import { longestGap, RETRIABLE, startLoad, type Batch } from './lib/soak-load.js';
import { readTopic } from './lib/soak-topics.js';
import { aggregate, checkWindows, type EmittedWindow, type WindowReading } from './lib/soak-windows.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    users: { type: 'string', default: '12' },
    clients: { type: 'string', default: '3' },
    batch: { type: 'string', default: '20' },
    'period-ms': { type: 'string', default: '1000' },
    /** Seconds between one fault's end and the next fault, drawn at random between the two. */
    'fault-min-s': { type: 'string', default: '120' },
    'fault-max-s': { type: 'string', default: '240' },
    /** Only these fault kinds (comma list); all by default. */
    faults: { type: 'string' },
    /** Keep the private topics, job and stored readings afterwards (to look at them). */
    keep: { type: 'boolean', default: false },
  },
});
const num = (name: keyof typeof args): number => {
  const n = Number(args[name]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name}: expected a number above 0, got ${String(args[name])}`);
    process.exit(2);
  }
  return n;
};
const minutes = num('minutes');
const kinds = (args.faults?.split(',') ?? [...FAULT_KINDS]) as FaultKind[];
const unknownKinds = kinds.filter((k) => !FAULT_KINDS.includes(k));
if (unknownKinds.length > 0) {
  console.error(`--faults: unknown ${unknownKinds.join(', ')}; expected some of ${FAULT_KINDS.join(', ')}`);
  process.exit(2);
}

const MAX_ATTEMPTS = 6;
const ACK_TIMEOUT_MS = 10_000;
const SAMPLE_MS = 30_000;
/**
 * The soak's job waits this long for late readings: longer than the slowest acknowledged batch can
 * take (6 attempts within the gateway's acknowledgement timeout), so a reading retried through a
 * fault is never dropped as late and every closed window can be checked exactly.
 */
const LATENESS_SECONDS = 120;

const log = (m: string): void => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}`);

const ctx = createStackContext(() => undefined);
if (ctx.config.stack.profile !== 'cluster') {
  console.error('the soak runs against the cluster profile: set STACK_PROFILE=cluster (see docs/reliability.md)');
  process.exit(2);
}

const id = `soak-${Date.now().toString(36)}`;
const topicEnv = {
  KAFKA_TOPIC: `${id}-ingestion`,
  KAFKA_DLQ_TOPIC: `${id}-dlq`,
  KAFKA_PROCESSED_TOPIC: `${id}-processed`,
  KAFKA_ALERTS_TOPIC: `${id}-alerts`,
};
const group = `${id}-writers`;
const userPrefix = `${id}-u`;
const users = Array.from({ length: num('users') }, (_, i) => `${userPrefix}${i}`);
const config = loadConfig({
  ...process.env,
  ...topicEnv,
  FLINK_JOB_NAME: id,
  FLINK_LATENESS_SECONDS: String(LATENESS_SECONDS),
});
const windowMs = config.flink.windowSeconds * 1000;

const kafka = new Kafka({ clientId: id, brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const db = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
const flinkApi = flinkClients(config);

interface MemorySample {
  at: number;
  gatewayMb: number;
  workerMb: number;
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Mean of the last third of the samples against the first third. */
function memoryTrend(samples: number[]) {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(samples.slice(0, third));
  const last = mean(samples.slice(-third));
  const growthMb = last - first;
  return {
    startMb: samples[0] ?? Number.NaN,
    endMb: samples.at(-1) ?? Number.NaN,
    maxMb: Math.max(...samples),
    firstThirdMb: Math.round(first),
    lastThirdMb: Math.round(last),
    growthPercent: Math.round((growthMb / first) * 1000) / 10,
    flat: growthMb < 50 || growthMb / first < 0.2,
  };
}

/** Every stored event id of the soak's users with its number of rows. */
async function storedCounts(): Promise<Map<string, number>> {
  const { rows } = await db.query<{ event_id: string; n: number }>(
    'SELECT event_id, count(*)::int AS n FROM readings WHERE user_id LIKE $1 GROUP BY event_id',
    [`${userPrefix}%`],
  );
  return new Map(rows.map((r) => [r.event_id, r.n]));
}

const violations: string[] = [];
const faults: (FaultRecord & { stallMs: number })[] = [];
const faultErrors: string[] = [];
const memory: MemorySample[] = [];
let gateway: Child | undefined;
let worker: Child | undefined;
let jobId: string | undefined;
let exitCode = 0;

await admin.connect();
try {
  const { replicationFactor, minInsyncReplicas, partitions } = config.kafka;
  await ensureTopics(admin, [
    { topic: topicEnv.KAFKA_TOPIC, partitions, replicationFactor, minInsyncReplicas },
    { topic: topicEnv.KAFKA_DLQ_TOPIC, partitions: 1, replicationFactor, minInsyncReplicas },
    { topic: topicEnv.KAFKA_PROCESSED_TOPIC, partitions, replicationFactor, minInsyncReplicas },
    { topic: topicEnv.KAFKA_ALERTS_TOPIC, partitions, replicationFactor, minInsyncReplicas },
  ]);
  const deployed = await deployJob(flinkApi, jobSettingsFrom(config), { runningTimeoutMs: 180_000, log });
  jobId = deployed.jobId;
  log(`job ${id} ${deployed.action} as ${jobId}`);
  gateway = await startChild({
    name: 'gateway',
    script: 'src/gateway/main.ts',
    port: await freePort(),
    env: {
      ...topicEnv,
      INGEST_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      RATE_LIMIT_PER_SECOND: '0',
      LAKE_ENABLED: 'false',
    },
    readyTimeoutMs: 120_000,
  });
  worker = await startChild({
    name: 'worker',
    script: 'src/consumer/main.ts',
    port: await freePort(),
    env: { ...topicEnv, KAFKA_CONSUMER_GROUP: group, KAFKA_CONSUMER_FROM_BEGINNING: 'true', LAKE_ENABLED: 'false' },
    readyTimeoutMs: 120_000,
  });
  log(`gateway pid ${gateway.pid}, worker pid ${worker.pid}; load for ${minutes} min on ${users.length} users`);

  const load = startLoad({
    url: `${gateway.base}/graphql`,
    users,
    clients: num('clients'),
    batchSize: num('batch'),
    periodMs: num('period-ms'),
    maxAttempts: MAX_ATTEMPTS,
    retryPauseMs: 500,
    requestTimeoutMs: ACK_TIMEOUT_MS + 10_000,
  });
  const startedAt = Date.now();
  const endAt = startedAt + minutes * 60_000;
  const sample = () => {
    memory.push({ at: Date.now(), gatewayMb: rssMb(gateway!.pid), workerMb: rssMb(worker!.pid) });
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_MS);
  try {
    const faultGap = () => (num('fault-min-s') + Math.random() * (num('fault-max-s') - num('fault-min-s'))) * 1000;
    let nextFault = startedAt + faultGap();
    while (Date.now() < endAt) {
      if (!gateway.running() || !worker.running()) {
        violations.push(`a child process died: ${!gateway.running() ? gateway.output() : worker.output()}`);
        break;
      }
      // A fault only when it can end (recovery included) before the load stops.
      if (Date.now() >= nextFault && endAt - Date.now() > 90_000) {
        const kind = pick(kinds);
        log(`injecting ${kind}`);
        try {
          const record = await injectFault(kind, {
            ctx,
            admin,
            topic: topicEnv.KAFKA_TOPIC,
            jobManager: flinkApi.jobManager,
            jobId,
            log,
          });
          faults.push({ ...record, stallMs: longestGap(load.batches, record.at, record.endedAt) });
        } catch (err) {
          faultErrors.push(`${kind}: ${err instanceof Error ? err.message : String(err)}`);
          log(`fault ${kind} did not recover: ${String(err)}`);
          await restoreCluster(ctx, log);
        }
        nextFault = Date.now() + faultGap();
      }
      await sleep(1000);
    }
  } finally {
    await load.stop();
    clearInterval(sampler);
    sample();
  }
  const stoppedAt = Date.now();
  log(`load stopped after ${load.batches.length} batches; checking`);

  // 1. Bounded retry: every batch acknowledged within its attempts, with retriable codes only.
  const batches: Batch[] = load.batches;
  const acked = batches.filter((b) => b.acceptedAt !== undefined);
  const failed = batches.filter((b) => b.acceptedAt === undefined);
  const codes = [...new Set(batches.flatMap((b) => b.codes))];
  if (failed.length > 0)
    violations.push(
      `${failed.length} batches not acknowledged: ${JSON.stringify(failed.slice(0, 5).map((b) => b.codes))}`,
    );
  const otherCodes = codes.filter((c) => !RETRIABLE.has(c));
  if (otherCodes.length > 0) violations.push(`non-retriable failures: ${otherCodes.join(', ')}`);
  const ackedReadings = acked.flatMap((b) => b.readings);

  // 2. Stored exactly once, once the worker has drained.
  let stored = new Map<string, number>();
  const drainStarted = Date.now();
  for (;;) {
    stored = await storedCounts();
    const missing = ackedReadings.filter((r) => !stored.has(r.eventId)).length;
    if (missing === 0 || Date.now() - drainStarted > 180_000) break;
    await sleep(2000);
  }
  const drainMs = Date.now() - drainStarted;
  const lost = ackedReadings.filter((r) => !stored.has(r.eventId)).length;
  const duplicated = [...stored.values()].filter((n) => n > 1).length;
  const ackedIds = new Set(ackedReadings.map((r) => r.eventId));
  const storedUnacknowledged = [...stored.keys()].filter((e) => !ackedIds.has(e)).length;
  if (lost > 0) violations.push(`${lost} acknowledged readings not stored`);
  if (duplicated > 0) violations.push(`${duplicated} readings stored more than once`);

  // 3. Windows. The gateway's heartbeats keep moving the job's watermark with the wall clock, so
  // every window that ended the lateness (and a margin) before now has closed by now.
  const closedBefore = Date.now() - LATENESS_SECONDS * 1000 - 10_000;
  const topicReadings: (WindowReading & { eventId: string })[] = [];
  for (const v of await readTopic(kafka, topicEnv.KAFKA_TOPIC)) {
    const r = JSON.parse(v) as { eventId?: string; userId?: string; time?: string; value?: number };
    if (r.userId === undefined || r.time === undefined || r.value === undefined) continue; // heartbeats
    topicReadings.push({ eventId: r.eventId ?? '', userId: r.userId, timeMs: Date.parse(r.time), value: r.value });
  }
  const onTopic = new Set(topicReadings.map((r) => r.eventId));
  const missingOnTopic = ackedReadings.filter((r) => !onTopic.has(r.eventId)).length;
  if (missingOnTopic > 0) violations.push(`${missingOnTopic} acknowledged readings not on the topic`);
  const fromTopic = aggregate(topicReadings, windowMs);
  const fromAcknowledged = aggregate(ackedReadings, windowMs);
  let emitted: EmittedWindow[] = [];
  let windows = checkWindows({ emitted, fromTopic, fromAcknowledged, windowMs, closedBefore });
  const windowWait = Date.now();
  while (Date.now() - windowWait < 120_000) {
    emitted = (await readTopic(kafka, topicEnv.KAFKA_PROCESSED_TOPIC)).map((v) => JSON.parse(v) as EmittedWindow);
    windows = checkWindows({ emitted, fromTopic, fromAcknowledged, windowMs, closedBefore });
    if (windows.missing.length === 0) break;
    await sleep(5000);
  }
  if (windows.compared === 0) violations.push('no closed window to compare');
  if (windows.missing.length > 0) violations.push(`${windows.missing.length} closed windows never emitted`);
  if (windows.mismatched.length > 0)
    violations.push(`${windows.mismatched.length} windows differ from the recomputation`);
  if (windows.unexpected.length > 0) violations.push(`${windows.unexpected.length} windows emitted without readings`);
  if (windows.conflicting.length > 0)
    violations.push(`${windows.conflicting.length} windows emitted twice, differently`);

  // 4. Memory.
  const gatewayMemory = memoryTrend(memory.map((s) => s.gatewayMb));
  const workerMemory = memoryTrend(memory.map((s) => s.workerMb));
  if (!gatewayMemory.flat) violations.push(`gateway memory grew ${gatewayMemory.growthPercent}%`);
  if (!workerMemory.flat) violations.push(`worker memory grew ${workerMemory.growthPercent}%`);
  if (faultErrors.length > 0) violations.push(`faults not recovered: ${faultErrors.join('; ')}`);

  // Regional restarts after a TaskManager loss show as restores from a checkpoint (docs/reliability.md).
  const checkpoints = (await fetch(`${config.flink.restUrl}/jobs/${jobId}/checkpoints`)
    .then((r) => r.json())
    .catch(() => ({}))) as { counts?: { restored?: number; completed?: number; failed?: number } };

  const summary = {
    id,
    startedAt: new Date(startedAt).toISOString(),
    stoppedAt: new Date(stoppedAt).toISOString(),
    minutes,
    load: {
      users: users.length,
      batches: batches.length,
      acknowledgedReadings: ackedReadings.length,
      readingsPerSecond: Math.round(ackedReadings.length / ((stoppedAt - startedAt) / 1000)),
      failedBatches: failed.length,
      retriedBatches: acked.filter((b) => b.attempts > 1).length,
      maxAttempts: Math.max(...batches.map((b) => b.attempts)),
      codes,
      slowestBatchMs: Math.max(...acked.map((b) => b.acceptedAt! - b.startedAt)),
    },
    stored: { lost, duplicated, storedUnacknowledged, drainMs },
    topic: { missingOnTopic, copies: topicReadings.length - onTopic.size },
    windows: {
      compared: windows.compared,
      missing: windows.missing.length,
      mismatched: windows.mismatched.length,
      unexpected: windows.unexpected.length,
      conflicting: windows.conflicting.length,
      repeated: windows.repeated,
      withTopicCopies: windows.withTopicCopies,
      examples: [...windows.missing.slice(0, 3), ...windows.mismatched.slice(0, 3).map((m) => JSON.stringify(m))],
    },
    faults: faults.map((f) => ({
      kind: f.kind,
      target: f.target,
      at: new Date(f.at).toISOString().slice(11, 19),
      downMs: f.downMs,
      recoveryMs: f.recoveryMs,
      stallMs: f.stallMs,
    })),
    faultErrors,
    restarts: faults.reduce((n, f) => n + f.restarts, 0),
    job: {
      restoredFromCheckpoint: checkpoints.counts?.restored,
      checkpointsCompleted: checkpoints.counts?.completed,
      checkpointsFailed: checkpoints.counts?.failed,
    },
    memory: { samples: memory.length, gateway: gatewayMemory, worker: workerMemory },
    violations,
  };
  console.log(JSON.stringify(summary, null, 2));
  exitCode = violations.length > 0 ? 1 : 0;
} catch (err) {
  console.error(`soak could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  if (gateway && !gateway.running()) console.error(`gateway output:\n${gateway.output()}`);
  if (worker && !worker.running()) console.error(`worker output:\n${worker.output()}`);
  exitCode = 2;
} finally {
  await restoreCluster(ctx, log);
  await worker?.kill('SIGTERM');
  await gateway?.kill('SIGTERM');
  if (!args.keep) {
    if (jobId !== undefined) await cancelJobs(flinkApi.jobManager, [jobId]).catch(() => undefined);
    await admin.deleteTopics({ topics: Object.values(topicEnv) }).catch(() => undefined);
    await admin.deleteGroups([group, `flink-${id}`]).catch(() => undefined);
    await db.query('DELETE FROM readings WHERE user_id LIKE $1', [`${userPrefix}%`]).catch(() => undefined);
  }
  await admin.disconnect();
  await db.end();
}
process.exit(exitCode);
