/**
 * `npm run soak -- --minutes N [--fault-every S]`: the cluster profile under steady ingest for N
 * minutes, with a fault picked at random every S seconds (default 180): a Kafka broker SIGKILLed
 * and restarted, a broker paused (SIGSTOP) for 15 s, a Flink TaskManager SIGKILLed and restarted,
 * the Trino worker SIGKILLed and restarted, or the cluster's Postgres restarted with pg_ctl.
 * Meanwhile a private copy of the processing job windows the same readings.
 *
 * At the end it checks that every acknowledged reading is on the topic and in the table exactly
 * once, that every window the job emitted matches a recomputation from the readings on the topic,
 * and that the gateway's and worker's memory stayed flat (resident set of the last quarter of the
 * run against the second quarter). Prints one JSON summary; exits 1 when a check fails. Not part
 * of CI: it brings the cluster up (as the cluster tests do) and leaves it running.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { useClusterEnvironment } from '../tests/cluster/environment.js';

useClusterEnvironment();
const { loadConfig } = await import('../src/config.js');
const { bringUp, createStackContext } = await import('../stack/lib/context.js');
const { runningPid } = await import('../stack/lib/process.js');
const { services } = await import('../stack/services/index.js');
const { kafka: kafkaService, kafkaNodes } = await import('../stack/services/kafka.js');
const { flink: flinkService } = await import('../stack/services/flink.js');
const { trino: trinoService } = await import('../stack/services/trino.js');
const { postgres: postgresService, stopOwnPostgres } = await import('../stack/services/postgres.js');
const { cancelJobs, deployJob, flinkClients, liveJobs } = await import('../src/flink/deploy.js');
const { jobSettingsFrom } = await import('../src/flink/job-sql.js');
const { collect } = await import('../tests/helpers/kafka.js');
const { IngestLoad, startPipeline, verify, waitForFullIsr } = await import('../tests/cluster/pipeline.js');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
  return v;
}
const minutes = arg('minutes', 30);
const faultEverySeconds = arg('fault-every', 180);

const ctx = createStackContext((m) => console.log(`[soak] ${m}`));
const log = (m: string) => console.log(`[soak +${Math.round((Date.now() - t0) / 1000)}s] ${m}`);
const t0 = Date.now();
for (const s of services) {
  await s.fetch(ctx);
  await bringUp(ctx, s);
}
log(`cluster up (${ctx.paths.root})`);

const pipeline = await startPipeline('soak');
// The processing job on the pipeline's topic, with a processed topic of its own.
const config = loadConfig();
const processed = `${pipeline.id}-processed`;
const settings = {
  ...jobSettingsFrom(config),
  jobName: `fitbit-processing-${pipeline.id}`,
  consumerGroup: `flink-${pipeline.id}`,
  topics: { ingestion: pipeline.topic, processed, alerts: `${pipeline.id}-alerts` },
};
const admin = pipeline.kafka.admin();
await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: [processed, settings.topics.alerts].map((topic) => ({
    topic,
    numPartitions: config.kafka.partitions,
    replicationFactor: Math.min(3, config.kafka.brokers.length),
  })),
});
const clients = flinkClients(config);
const { jobId } = await deployJob(clients, settings);
log(`job ${jobId} deployed`);

// 100 ms of event time per reading: a few hours of one-minute windows over the run.
const load = new IngestLoad(pipeline.gw.url, pipeline.userPrefix, { clients: 2, pauseMs: 100, stepMs: 100 });
load.start();

/** Resident set of a process in MB (from /proc). */
const rssMb = (pid: number): number | undefined => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
};
const memory: { at: number; gateway: number; worker: number }[] = [];

interface FaultRecord {
  at: number;
  fault: string;
  target: string;
  recoveredMs: number;
  stallMs: number;
}
const faults: FaultRecord[] = [];
const faultKinds = ['kafka-kill', 'kafka-pause', 'taskmanager-kill', 'trino-worker-kill', 'postgres-restart'] as const;

async function inject(kind: (typeof faultKinds)[number]): Promise<{ target: string; recoveredMs: number }> {
  const started = Date.now();
  switch (kind) {
    case 'kafka-kill':
    case 'kafka-pause': {
      const nodes = kafkaNodes(config);
      const node = nodes[Math.floor(Math.random() * nodes.length)]!;
      const pid = runningPid(ctx.paths, node.name)!;
      if (kind === 'kafka-kill') {
        process.kill(pid, 'SIGKILL');
        await sleep(5000);
        await bringUp(ctx, kafkaService);
      } else {
        process.kill(pid, 'SIGSTOP');
        await sleep(15_000);
        process.kill(pid, 'SIGCONT');
      }
      await waitForFullIsr(pipeline.kafka, pipeline.topic, 300_000);
      return { target: node.name, recoveredMs: Date.now() - started };
    }
    case 'taskmanager-kill': {
      const name = Math.random() < 0.5 ? 'flink-taskmanager-1' : 'flink-taskmanager-2';
      process.kill(runningPid(ctx.paths, name)!, 'SIGKILL');
      await sleep(5000);
      await bringUp(ctx, flinkService);
      return { target: name, recoveredMs: Date.now() - started };
    }
    case 'trino-worker-kill':
      process.kill(runningPid(ctx.paths, 'trino-worker')!, 'SIGKILL');
      await sleep(5000);
      await bringUp(ctx, trinoService);
      return { target: 'trino-worker', recoveredMs: Date.now() - started };
    case 'postgres-restart':
      await stopOwnPostgres(ctx, 'fast');
      await sleep(5000);
      await bringUp(ctx, postgresService);
      return { target: 'postgres', recoveredMs: Date.now() - started };
  }
}

const end = t0 + minutes * 60_000;
let nextFault = Date.now() + faultEverySeconds * 1000;
while (Date.now() < end) {
  memory.push({ at: Date.now(), gateway: rssMb(process.pid) ?? 0, worker: rssMb(pipeline.worker.pid) ?? 0 });
  if (Date.now() >= nextFault) {
    const kind = faultKinds[Math.floor(Math.random() * faultKinds.length)]!;
    const at = Date.now();
    log(`fault: ${kind}`);
    const { target, recoveredMs } = await inject(kind);
    faults.push({ at, fault: kind, target, recoveredMs, stallMs: load.stallMs(at, Date.now()) });
    log(`fault: ${kind} on ${target}, recovered in ${recoveredMs} ms`);
    nextFault = Date.now() + faultEverySeconds * 1000;
  }
  await sleep(5000);
}
await load.stop();
log('load stopped; verifying');
const verdict = await verify(pipeline, load, 300_000);

// Windows: recompute count/sum/min/max per (user, minute) from the readings on the topic, and
// compare with every window the job emitted for a minute that is closed (not the last two).
const ends = await admin.fetchTopicOffsets(pipeline.topic);
const total = ends.reduce((n, e) => n + Number(e.high), 0);
const expected = new Map<string, { count: number; sum: number; min: number; max: number }>();
const seen = new Set<string>();
let read = 0;
await collect(
  pipeline.kafka,
  pipeline.topic,
  ends.map((e) => ({ partition: e.partition, offset: '0' })),
  (m) => {
    read += 1;
    const r = JSON.parse(m.value ?? '{}') as { eventId: string; userId: string; time: string; value: number };
    if (seen.has(r.eventId)) return false;
    seen.add(r.eventId);
    const minute = Math.floor(Date.parse(r.time) / 60_000) * 60_000;
    const key = `${r.userId}|${new Date(minute).toISOString()}`;
    const w = expected.get(key) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
    w.count += 1;
    w.sum += r.value;
    w.min = Math.min(w.min, r.value);
    w.max = Math.max(w.max, r.value);
    expected.set(key, w);
    return false;
  },
  () => read >= total,
  300_000,
);
const pEnds = await admin.fetchTopicOffsets(processed);
const pTotal = pEnds.reduce((n, e) => n + Number(e.high), 0);
const emitted = await collect(
  pipeline.kafka,
  processed,
  pEnds.map((e) => ({ partition: e.partition, offset: '0' })),
  () => true,
  (all) => all.length >= pTotal,
  300_000,
);
const lastMinute = Math.max(...[...expected.keys()].map((k) => Date.parse(k.split('|')[1]!)));
let windowsChecked = 0;
const wrongWindows: string[] = [];
for (const m of emitted) {
  const w = JSON.parse(m.value!) as {
    userId: string;
    windowStart: string;
    count: number;
    sum: number;
    min: number;
    max: number;
  };
  if (Date.parse(w.windowStart) >= lastMinute - 60_000) continue;
  const e = expected.get(`${w.userId}|${w.windowStart}`);
  windowsChecked += 1;
  if (!e || e.count !== w.count || Math.abs(e.sum - w.sum) > 1e-6 || e.min !== w.min || e.max !== w.max)
    wrongWindows.push(`${w.userId} ${w.windowStart}: got ${JSON.stringify(w)}, expected ${JSON.stringify(e)}`);
}
const closedMinutes = [...expected.keys()].filter((k) => Date.parse(k.split('|')[1]!) < lastMinute - 60_000);
const emittedKeys = new Set(
  emitted.map((m) => {
    const w = JSON.parse(m.value!) as { userId: string; windowStart: string };
    return `${w.userId}|${w.windowStart}`;
  }),
);
const missingWindows = closedMinutes.filter((k) => !emittedKeys.has(k));

const quarter = (q: number) => memory.slice(Math.floor((memory.length * q) / 4), Math.floor((memory.length * (q + 1)) / 4));
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const growth = (k: 'gateway' | 'worker') => avg(quarter(3).map((m) => m[k])) / avg(quarter(1).map((m) => m[k]));
const summary = {
  minutes,
  faultEverySeconds,
  faults,
  mutations: load.mutations.length,
  ...verdict,
  windowsChecked,
  wrongWindows: wrongWindows.length,
  missingWindows: missingWindows.length,
  memoryMb: {
    gateway: { second: Math.round(avg(quarter(1).map((m) => m.gateway))), last: Math.round(avg(quarter(3).map((m) => m.gateway))) },
    worker: { second: Math.round(avg(quarter(1).map((m) => m.worker))), last: Math.round(avg(quarter(3).map((m) => m.worker))) },
  },
  memoryGrowth: { gateway: Number(growth('gateway').toFixed(2)), worker: Number(growth('worker').toFixed(2)) },
};
console.log(JSON.stringify(summary, null, 2));
for (const w of wrongWindows.slice(0, 10)) console.log(`wrong window: ${w}`);

const live = await liveJobs(clients.jobManager, settings.jobName).catch(() => []);
if (live.length > 0) await cancelJobs(clients.jobManager, live.map((j) => j.id)).catch(() => undefined);
await admin.deleteTopics({ topics: [processed, settings.topics.alerts] }).catch(() => undefined);
await admin.disconnect();
await pipeline.stop();

const ok =
  verdict.lostOnTopic === 0 &&
  verdict.lostInTable === 0 &&
  verdict.duplicatedInTable === 0 &&
  verdict.duplicatedOnTopic === 0 &&
  verdict.abandonedMutations === 0 &&
  wrongWindows.length === 0 &&
  summary.memoryGrowth.gateway < 1.5 &&
  summary.memoryGrowth.worker < 1.5;
process.exit(ok ? 0 : 1);
