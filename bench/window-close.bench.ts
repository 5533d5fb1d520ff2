/**
 * `npm run bench:close [-- --full]`: how long after its end + lateness a window comes out when the
 * stream goes quiet, with the gateway's heartbeat (src/kafka/heartbeat.ts) moving the watermark.
 *
 * A private copy of the job (own name, group and three 6-partition topics) runs with short windows
 * so that many windows fit in a short run: FLINK_WINDOW_SECONDS=10 and FLINK_LATENESS_SECONDS=5 by
 * default (`--window S`, `--lateness S`); the heartbeat interval is the configured one (default
 * 2 s). Close delay = the window record's Kafka append time - (window end + lateness), so 0 is the
 * earliest the job may emit and the contract allows 10 s.
 *
 * Phase "quiet": in each window, a few users send one reading each (stamped now) and nothing else
 * arrives but heartbeats: without the heartbeat those windows would never close. Phase "load":
 * the same, while 100 other users send readings at a steady rate. The baseline, measured in the
 * same run, is a raw Kafka produce -> consume round trip on the same broker.
 */
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { cancelJobs, deployJob, flinkClients, liveJobs } from '../src/flink/deploy.js';
import { jobSettingsFrom, type JobSettings } from '../src/flink/job-sql.js';
import { createHeartbeat, type Heartbeat } from '../src/kafka/heartbeat.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { paced, runId, summarize, until } from './lib/util.js';

const run = mode();
const argNum = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const WINDOW_S = argNum('window', 10);
const LATENESS_S = argNum('lateness', 5);
const WINDOWS_PER_PHASE = run === 'full' ? 20 : 6;
const QUIET_USERS = run === 'full' ? 20 : 10;
const LOAD_RATE = run === 'full' ? 5_000 : 2_000;
const LOAD_USERS = 100;
const PARTITIONS = 6;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const logger = createLogger(config, 'bench-close');
const id = runId();
const settings: JobSettings = {
  ...jobSettingsFrom(config),
  jobName: `fitbit-processing-close-${id}`,
  consumerGroup: `flink-close-${id}`,
  topics: {
    ingestion: `bench_close_${id}_ingestion`,
    processed: `bench_close_${id}_processed`,
    alerts: `bench_close_${id}_alerts`,
  },
  windowSeconds: WINDOW_S,
  latenessSeconds: LATENESS_S,
};
const pingTopic = `bench_close_${id}_ping`;
const readerGroup = `bench-close-reader-${id}`;
const clients = flinkClients(config);
const kafka = new Kafka({ clientId: `bench-close-${id}`, brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const W = WINDOW_S * 1000;
const L = LATENESS_S * 1000;

/** Window records seen on the processed topic: user|windowStart -> close delay in ms. */
const delays = new Map<string, number>();

async function send(producer: Producer, users: string[], metric = 'heart_rate'): Promise<void> {
  const time = new Date().toISOString();
  await producer.send({
    topic: settings.topics.ingestion,
    acks: 1,
    messages: users.map((userId) => ({ key: userId, value: JSON.stringify({ userId, metric, time, value: 70 }) })),
  });
}

async function pingBaseline(producer: Producer): Promise<number[]> {
  const consumer = kafka.consumer({ groupId: `bench-close-ping-${id}`, maxWaitTimeInMs: 10 });
  const got = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topic: pingTopic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void got.set(message.value!.toString(), Date.now()) });
  const out: number[] = [];
  try {
    for (let i = 0; i < 30; i += 1) {
      const key = `p${i}`;
      const sent = Date.now();
      await producer.send({ topic: pingTopic, acks: 1, messages: [{ value: key }] });
      const at = await until('ping', () => got.get(key), 30_000, 2);
      out.push(at - sent);
    }
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/**
 * One phase: `WINDOWS_PER_PHASE` windows, each with one reading per quiet user sent at a random
 * moment inside it; returns the keys of the windows to wait for.
 */
async function phase(name: string, producer: Producer, loaded: boolean): Promise<string[]> {
  const quiet = Array.from({ length: QUIET_USERS }, (_, i) => `close-${id}-${name}-q${i}`);
  const load = Array.from({ length: LOAD_USERS }, (_, i) => `close-${id}-${name}-l${i}`);
  const keys: string[] = [];
  const abort = new AbortController();
  const background = loaded
    ? paced(
        LOAD_RATE,
        (WINDOWS_PER_PHASE + 1) * WINDOW_S + LATENESS_S + 12,
        async (n) => {
          await send(
            producer,
            Array.from({ length: n }, (_, i) => load[i % LOAD_USERS]!),
            'steps',
          );
        },
        { signal: abort.signal },
      )
    : Promise.resolve();
  // Start at the next window boundary so every measured window is a whole one.
  await new Promise((r) => setTimeout(r, W - (Date.now() % W) + 50));
  for (let w = 0; w < WINDOWS_PER_PHASE; w += 1) {
    const start = Math.floor(Date.now() / W) * W;
    await new Promise((r) => setTimeout(r, Math.random() * (W * 0.6)));
    await send(producer, quiet);
    for (const u of quiet) keys.push(`${u}|${new Date(start).toISOString()}`);
    await new Promise((r) => setTimeout(r, start + W - Date.now() + 20));
  }
  await until(`${name}: every window`, () => (keys.every((k) => delays.has(k)) ? true : undefined), L + 60_000, 200);
  abort.abort();
  await background;
  return keys;
}

async function main(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  let consumer: Consumer | undefined;
  let heartbeat: Heartbeat | undefined;
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [...Object.values(settings.topics), pingTopic].map((topic) => ({
        topic,
        numPartitions: PARTITIONS,
        replicationFactor: 1,
      })),
    });
    await producer.connect();
    const ping = summarize(await pingBaseline(producer));

    consumer = kafka.consumer({ groupId: readerGroup, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic: settings.topics.processed, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const w = JSON.parse(message.value!.toString()) as { userId: string; windowStart: string; windowEnd: string };
        const end = Date.parse(w.windowEnd);
        delays.set(`${w.userId}|${w.windowStart}`, Number(message.timestamp) - (end + L));
      },
    });
    heartbeat = createHeartbeat({
      kafka,
      topic: settings.topics.ingestion,
      intervalMs: config.flink.heartbeatIntervalMs || 2000,
      logger,
    });
    await heartbeat.start();
    await deployJob(clients, settings, { runningTimeoutMs: 120_000 });

    const quietKeys = await phase('quiet', producer, false);
    const loadKeys = await phase('load', producer, true);
    const quiet = summarize(quietKeys.map((k) => delays.get(k)! / 1000));
    const loaded = summarize(loadKeys.map((k) => delays.get(k)! / 1000));
    const pingS = ping.p50 / 1000;
    const fig = (name: string, v: number, note: string): Figure => ({
      name,
      figure: round(v, 2),
      unit: 's',
      baseline: round(pingS, 4),
      baselineName: 'Kafka produce -> consume round trip p50',
      ratio: round(v / pingS, 1),
      better: 'lower',
      target: '<= 10 s',
      note,
    });
    const figures: Figure[] = [
      fig('window close delay p50, quiet stream', quiet.p50, `${quiet.n} windows; heartbeats only`),
      fig('window close delay p99, quiet stream', quiet.p99, `max ${quiet.max} s`),
      fig('window close delay p50, under load', loaded.p50, `${loaded.n} windows; ${LOAD_RATE} readings/s beside`),
      fig('window close delay p99, under load', loaded.p99, `max ${loaded.max} s`),
    ];
    const file = writeResult({
      bench: 'window-close',
      mode: run,
      figures,
      notes: [
        `Close delay = the window record's Kafka append time - (window end + lateness); windows of ${WINDOW_S} s, lateness ${LATENESS_S} s, heartbeat every ${config.flink.heartbeatIntervalMs || 2000} ms, checkpoint interval ${config.flink.checkpointIntervalMs} ms.`,
        'Without the heartbeat the quiet windows never close (until a later reading arrives anywhere): there is no finite figure to compare with.',
      ],
    });
    console.log(JSON.stringify({ quiet, loaded, ping }, null, 2));
    console.log(`wrote ${file}`);
  } finally {
    await heartbeat?.stop().catch(() => undefined);
    const jobs = await liveJobs(clients.jobManager, settings.jobName).catch(() => []);
    if (jobs.length > 0)
      await cancelJobs(
        clients.jobManager,
        jobs.map((j) => j.id),
      ).catch(() => undefined);
    await consumer?.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [...Object.values(settings.topics), pingTopic] }).catch(() => undefined);
    await admin.deleteGroups([readerGroup, settings.consumerGroup, `bench-close-ping-${id}`]).catch(() => undefined);
    await admin.disconnect();
  }
}

await main();
