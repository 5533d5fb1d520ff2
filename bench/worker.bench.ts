/**
 * Worker throughput: rows/s from a pre-filled topic into Postgres, beside two raw COPYs of the same
 * rows in the same run: into `readings` itself (the baseline of the ratio: the same table, its
 * indexes and its statement triggers, the per-minute rollup and the lake's dirty hours, so what
 * the ratio shows is what the worker adds), and into a fresh scratch table of the same shape
 * without triggers (the baseline of earlier runs, kept beside it).
 *
 *   npx tsx bench/worker.bench.ts [--short] [--rows N] [--rounds N] [--cpu-profile file.cpuprofile]
 *
 * Rounds (3, or 1 with --short) each run the worker and both COPYs once, in that order, every side
 * starting from the same table (the previous side's rows deleted, `readings` vacuumed); the figures
 * are the medians of the rounds, because on a shared 2-core machine one side's run can take half
 * again as long as the next for no reason of its own. The worker of round 1 is the one profiled.
 *
 * The worker runs in this process, with the Node options it is deployed with
 * (src/consumer/node.flags.ts; BENCH_WORKER_NODE_FLAGS replaces them, bench/lib/production.ts):
 * started without them, the bench starts itself again with them.
 *
 * Writes bench/results/worker.json. Everything it creates (topics, group, scratch table, its rows
 * in `readings`) is removed at the end, also on failure.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Session } from 'node:inspector/promises';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createConsumerWorker } from '../src/consumer/worker.js';
import { WIRE_METRICS, METRICS } from '../src/domain/metrics.js';
import { round, writeResult, type Figure } from './lib/report.js';
import { summarize } from './lib/util.js';
import { missingNodeFlags } from '../src/consumer/node.flags.js';
import { workerNodeFlags as nodeFlags } from './lib/production.js';

const missingFlags = missingNodeFlags(process.execArgv, process.env.NODE_OPTIONS ?? '', nodeFlags);
if (missingFlags.length > 0) {
  const again = spawnSync(
    process.execPath,
    [...process.execArgv, ...missingFlags, import.meta.filename, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(again.status ?? 1);
}

const args = process.argv.slice(2);
const short = args.includes('--short');
const rowsArg = args.indexOf('--rows');
const N = rowsArg >= 0 ? Number(args[rowsArg + 1]) : short ? 20_000 : 200_000;
const roundsArg = args.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : short ? 1 : 3;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds: expected a whole number >= 1');
const profileArg = args.indexOf('--cpu-profile');
const profileFile = profileArg >= 0 ? args[profileArg + 1] : undefined;
const USERS = 1000;

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const topic = `bench_worker_${run}`;
const dlqTopic = `bench_worker_dlq_${run}`;
const groupId = `bench-worker-${run}`;
const userPrefix = `bench-${run}-u`;
/** The raw COPY into `readings` writes the same rows under other users: new identities, same bytes a row. */
const copyUserPrefix = `bench-${run}-c`;
const scratch = `bench_copy_${run}`;

const base = loadConfig();
/** Each round's worker joins a group of its own, which reads the topic from its start. */
const configOfRound = (n: number) =>
  loadConfig({
    ...process.env,
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: dlqTopic,
    KAFKA_CONSUMER_GROUP: `${groupId}-${n}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
const config = configOfRound(1);
const logger = createLogger(config, 'bench-worker');
const kafka = new Kafka({ clientId: 'bench-worker', brokers: base.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const db = new pg.Client({ connectionString: base.postgres.url });

interface Row {
  userId: string;
  metric: string;
  time: string;
  value: number;
  deviceId: string;
  eventId: string;
}

/** N distinct identities: USERS users, one reading per (user, metric, second) going back in time. */
function makeRows(): Row[] {
  const start = Date.now() - 86_400_000;
  const rows: Row[] = new Array(N);
  for (let i = 0; i < N; i += 1) {
    const metric = WIRE_METRICS[i % WIRE_METRICS.length]!;
    const m = METRICS[metric];
    rows[i] = {
      userId: `${userPrefix}${i % USERS}`,
      metric,
      time: new Date(start + Math.floor(i / USERS) * 1000).toISOString(),
      value: m.min + ((i * 7) % Math.max(1, m.max - m.min)),
      deviceId: 'charge6-1',
      eventId: `${run}-${i}`,
    };
  }
  return rows;
}

async function produce(rows: Row[]): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = performance.now();
  const chunk = 10_000;
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const messages = rows
      .slice(i, i + chunk)
      .map((r) => ({ key: r.userId, value: JSON.stringify(r), headers: { 'schema-version': '1' } }));
    sends.push(producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages }));
    if (sends.length >= 4) await sends.shift();
  }
  await Promise.all(sends);
  const ms = performance.now() - t0;
  await producer.disconnect();
  return ms;
}

/** CPU seconds used so far by the Postgres backends serving the worker (same machine: /proc). */
async function backendCpuMs(): Promise<number> {
  const pids = (
    await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'fitbit-consumer'")
  ).rows;
  const tick = 10; // ms per clock tick (USER_HZ 100)
  let total = 0;
  for (const { pid } of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * tick;
    } catch {
      // backend gone
    }
  }
  return total;
}

interface WorkerRun {
  steadyMs: number;
  totalMs: number;
  nodeCpuMs: number;
  postgresCpuMs: number;
  stats: ReturnType<ReturnType<typeof createConsumerWorker>['stats']>;
}

async function measureWorker(n: number): Promise<WorkerRun> {
  const worker = createConsumerWorker({ config: configOfRound(n), logger, print: () => undefined });
  const t0 = performance.now();
  let first = 0;
  try {
    await worker.start();
    // From here the group is joined: what follows is fetching, decoding and writing.
    first = performance.now();
    const cpu0 = process.cpuUsage();
    // The pool connects lazily: sample the backends' CPU once they exist, and subtract.
    let pg0 = -1;
    for (;;) {
      const s = worker.stats();
      if (pg0 < 0 && s.batches > 0) pg0 = await backendCpuMs();
      if (s.rowsInserted + s.duplicates + s.dlq >= N) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const end = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const pg1 = await backendCpuMs();
    const stats = worker.stats();
    return {
      steadyMs: end - first,
      totalMs: end - t0,
      nodeCpuMs: (cpu.user + cpu.system) / 1000,
      postgresCpuMs: pg1 - Math.max(0, pg0),
      stats,
    };
  } finally {
    await worker.stop();
  }
}

/**
 * Dead rows left in `readings` by earlier runs and tests (deleted, not yet vacuumed: autovacuum may
 * be off on a CI database) slow every insert into it. Vacuumed before measuring, so that both
 * sides start from the same table, and after cleaning up, so that the next user does too.
 */
async function vacuumReadings(): Promise<void> {
  await db.query('VACUUM readings, readings_minute');
}

async function deleteRows(prefix: string): Promise<void> {
  await db.query(`DELETE FROM readings WHERE user_id LIKE $1`, [`${prefix}%`]);
  await vacuumReadings();
}

/** COPY of the rows, text format, into `table` (`readings`, or a scratch table of its shape). */
async function measureCopy(rows: Row[], table: string, userId: (r: Row) => string = (r) => r.userId): Promise<number> {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
  const t0 = performance.now();
  const text = function* () {
    let buf = '';
    for (const r of rows) {
      buf += `${esc(userId(r))}\t${r.metric}\t${r.time}\t${r.value}\t${esc(r.deviceId)}\t${esc(r.eventId)}\n`;
      if (buf.length > 1 << 16) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  };
  await pipeline(
    Readable.from(text()),
    db.query(copyFrom(`COPY ${table} (user_id, metric, time, value, device_id, event_id) FROM STDIN`)),
  );
  return performance.now() - t0;
}

async function main(): Promise<void> {
  await db.connect();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        { topic, numPartitions: config.kafka.partitions },
        { topic: dlqTopic, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    const rows = makeRows();
    await vacuumReadings();
    const produceMs = await produce(rows);
    console.log(
      `produced ${N} readings to ${topic} in ${produceMs.toFixed(0)} ms (${Math.round(N / (produceMs / 1000))}/s)`,
    );

    interface Round {
      worker: WorkerRun;
      workerRate: number;
      copyRate: number;
      scratchRate: number;
    }
    const rounds: Round[] = [];
    for (let n = 1; n <= ROUNDS; n += 1) {
      const session = profileFile && n === 1 ? new Session() : undefined;
      if (session) {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      const w = await measureWorker(n);
      if (session && profileFile) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(profileFile, JSON.stringify(profile));
        session.disconnect();
        console.log(`CPU profile of the worker phase written to ${profileFile}`);
      }
      const stored = Number(
        (await db.query(`SELECT count(*) FROM readings WHERE user_id LIKE $1`, [`${userPrefix}%`])).rows[0].count,
      );
      if (stored !== N) throw new Error(`expected ${N} rows stored, found ${stored}`);
      const workerRate = N / (w.steadyMs / 1000);
      console.log(
        `round ${n}: worker: ${N} rows in ${w.steadyMs.toFixed(0)} ms after joining the group (${Math.round(workerRate)}/s); ${w.totalMs.toFixed(0)} ms with start-up; ${w.stats.batches} batches`,
      );
      console.log(
        `  profile: worker process CPU ${w.nodeCpuMs.toFixed(0)} ms (kafkajs fetch/decode, JSON, validation, pg encoding; includes this loop's polling), ` +
          `Postgres backends CPU about ${w.postgresCpuMs.toFixed(0)} ms (first batch excluded), wall ${w.steadyMs.toFixed(0)} ms on ${cpus().length} cores; load average ${loadavg()[0]!.toFixed(1)}`,
      );
      // The raw COPY starts from the table the worker started from: its rows deleted and vacuumed.
      await deleteRows(userPrefix);
      const copyMs = await measureCopy(rows, 'readings', (r) => copyUserPrefix + r.userId.slice(userPrefix.length));
      const copyRate = N / (copyMs / 1000);
      console.log(`  raw COPY into readings: ${N} rows in ${copyMs.toFixed(0)} ms (${Math.round(copyRate)}/s)`);
      await deleteRows(copyUserPrefix);
      await db.query(`CREATE TABLE ${scratch} (LIKE readings INCLUDING ALL)`);
      const scratchMs = await measureCopy(rows, scratch);
      await db.query(`DROP TABLE ${scratch}`);
      const scratchRate = N / (scratchMs / 1000);
      console.log(
        `  raw COPY into a scratch table: ${N} rows in ${scratchMs.toFixed(0)} ms (${Math.round(scratchRate)}/s)`,
      );
      rounds.push({ worker: w, workerRate, copyRate, scratchRate });
    }
    const workerRate = summarize(rounds.map((r) => r.workerRate)).p50;
    const copyRate = summarize(rounds.map((r) => r.copyRate)).p50;
    const scratchRate = summarize(rounds.map((r) => r.scratchRate)).p50;
    const w = rounds[0]!.worker;
    const perRound = rounds
      .map(
        (r, i) =>
          `round ${i + 1}: worker ${Math.round(r.workerRate)}, COPY into readings ${Math.round(r.copyRate)} (${round(r.workerRate / r.copyRate)}), into a scratch table ${Math.round(r.scratchRate)} (${round(r.workerRate / r.scratchRate)}); worker process CPU ${Math.round(r.worker.nodeCpuMs)} ms, its backends ${Math.round(r.worker.postgresCpuMs)} ms`,
      )
      .join('; ');

    const figures: Figure[] = [
      {
        name: `worker: Kafka -> readings (${N.toLocaleString('en-US')} readings, ${config.consumer.concurrency} partitions at a time)`,
        figure: Math.round(workerRate),
        unit: 'rows/s',
        baseline: Math.round(copyRate),
        baselineName:
          'raw COPY of the same rows (other users) into readings itself: its indexes and statement triggers',
        ratio: round(workerRate / copyRate),
        better: 'higher',
        target: '>= 0.5 of the raw COPY',
        note: `median of ${ROUNDS} round(s); round 1 with start-up and group join ${Math.round(N / (w.totalMs / 1000)).toLocaleString('en-US')} rows/s`,
      },
      {
        name: `worker against a raw COPY into a fresh scratch table (${N.toLocaleString('en-US')} readings)`,
        figure: Math.round(workerRate),
        unit: 'rows/s',
        baseline: Math.round(scratchRate),
        baselineName: 'raw COPY of the same rows into a new table of the same shape: no triggers, no earlier rows',
        ratio: round(workerRate / scratchRate),
        better: 'higher',
        note: 'the only baseline of the runs up to 2026-12-06 04:32 UTC',
      },
    ];
    const file = writeResult({
      bench: 'worker',
      mode: short ? 'short' : 'full',
      figures,
      notes: [
        `${w.stats.batches} batches (${w.stats.insertFallbacks} of them refused by COPY and written by INSERT ... ON CONFLICT); fetches of ${config.consumer.maxBytesPerPartition} bytes per partition; readings produced beforehand at ${Math.round(N / (produceMs / 1000))}/s`,
        `Node options of the worker: ${nodeFlags.length > 0 ? nodeFlags.join(' ') : "Node's defaults"}`,
        `rows/s (ratio) by round: ${perRound}`,
        `CPU while storing (round 1): worker process ${Math.round(w.nodeCpuMs)} ms, its Postgres backends about ${Math.round(w.postgresCpuMs)} ms, over ${Math.round(w.steadyMs)} ms of wall time; load average (1 min) ${loadavg()[0]!.toFixed(2)}`,
      ],
    });
    console.log(JSON.stringify(figures, null, 2));
    console.log(`wrote ${file}`);
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${scratch}`).catch(() => undefined);
    await db.query(`DELETE FROM readings WHERE user_id LIKE $1`, [`bench-${run}-%`]).catch(() => undefined);
    await vacuumReadings().catch(() => undefined);
    await admin.deleteGroups(Array.from({ length: ROUNDS }, (_, i) => `${groupId}-${i + 1}`)).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, dlqTopic] }).catch(() => undefined);
    await admin.disconnect();
    await db.end();
  }
}

await main();
