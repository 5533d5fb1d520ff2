/**
 * `npm run bench:flink [-- --full]`: event-to-output latency of the Flink processing job, and the
 * input rate it keeps up with, beside a raw Kafka produce -> consume round trip in the same run.
 *
 * A private copy of the job (flink/fitbit-processing.sql, its own job name, consumer group and
 * three topics of 6 partitions) is deployed with short windows: the production default of 60 s
 * windows and 30 s lateness would make every latency about a minute and a half and the bench
 * several minutes long. Defaults here: FLINK_WINDOW_SECONDS=1, FLINK_LATENESS_SECONDS=0
 * (`--window S`, `--lateness S` change them); the rest (parallelism, checkpoint interval, idle
 * timeout) comes from the configuration as for the real job.
 *
 * Readings are produced at a steady rate with event time = now (the Kafka timestamp of each
 * message is set to the same instant). For every window that appears on the private processed
 * topic, latency = the window record's Kafka append timestamp - the Kafka timestamp of the newest
 * reading in that window (what the issue calls "from a reading's append to Kafka until its window
 * appears"). The window also carries its count, checked against what was produced.
 *
 * Throughput: rates rise phase by phase (short: 1,000, 10,000, 40,000/s; full: up to 120,000/s). In
 * each phase the slope of latency against time says whether output lag grows: a job that handles
 * only a fraction f of the input falls behind by (1 - f) seconds per second. A phase keeps up when
 * the slope is under 0.1 s/s and every window came out. The first failing phase ends the sweep.
 *
 * The job is cancelled and every topic and group deleted afterwards, also on failure.
 */
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { cancelJobs, deployJob, flinkClients, liveJobs } from '../src/flink/deploy.js';
import { jobSettingsFrom, type JobSettings } from '../src/flink/job-sql.js';
import { renderGrowthSvg } from './lib/plot.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { paced, runId, slope, summarize, until } from './lib/util.js';

const run = mode();
const argNum = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const WINDOW_S = argNum('window', 1);
const LATENESS_S = argNum('lateness', 0);
const RATES =
  run === 'full' ? [1_000, 5_000, 10_000, 20_000, 40_000, 60_000, 80_000, 120_000] : [1_000, 10_000, 40_000];
const PHASE_S = run === 'full' ? 20 : 8;
/** Windows opening in the first seconds of a phase carry the previous phase's tail: not counted. */
const SETTLE_S = run === 'full' ? 3 : 2;
const USERS = 120;
const PARTITIONS = 6;
const SLOPE_LIMIT = 0.1;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const id = runId();
const settings: JobSettings = {
  ...jobSettingsFrom(config),
  jobName: `fitbit-processing-bench-${id}`,
  consumerGroup: `flink-bench-${id}`,
  topics: {
    ingestion: `bench_flink_${id}_ingestion`,
    processed: `bench_flink_${id}_processed`,
    alerts: `bench_flink_${id}_alerts`,
  },
  windowSeconds: WINDOW_S,
  latenessSeconds: LATENESS_S,
};
const pingTopic = `bench_flink_${id}_ping`;
const readerGroup = `bench-flink-reader-${id}`;
const pingGroup = `bench-flink-ping-${id}`;
const clients = flinkClients(config);
const kafka = new Kafka({ clientId: `bench-flink-${id}`, brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const users = Array.from({ length: USERS }, (_, i) => `bench-flink-${id}-u${i}`);
const W = WINDOW_S * 1000;

/** Per window (user|windowStart): Kafka timestamps of its first and newest reading, and how many. */
interface Produced {
  first: number;
  last: number;
  count: number;
  phase: number;
}
const produced = new Map<string, Produced>();
interface Emitted {
  key: string;
  windowStart: number;
  count: number;
  outAppend: number;
  received: number;
}
const emitted = new Map<string, Emitted>();
let duplicates = 0;
let currentPhase = -1;
let userCursor = 0;

async function produceReadings(producer: Producer, n: number): Promise<void> {
  // One instant per batch: the event time, the Kafka timestamp and (to the ms) the append time.
  const now = Date.now();
  const time = new Date(now).toISOString();
  const start = now - (now % W);
  const messages = new Array<{ key: string; value: string; timestamp: string }>(n);
  for (let i = 0; i < n; i += 1) {
    const userId = users[userCursor++ % USERS]!;
    messages[i] = {
      key: userId,
      value: `{"userId":"${userId}","metric":"heart_rate","time":"${time}","value":${60 + (i % 30)}}`,
      timestamp: String(now),
    };
    const k = `${userId}|${start}`;
    const p = produced.get(k);
    if (p) {
      p.last = now;
      p.count += 1;
    } else produced.set(k, { first: now, last: now, count: 1, phase: currentPhase });
  }
  await producer.send({ topic: settings.topics.ingestion, acks: -1, messages });
}

async function rawRoundTrip(producer: Producer): Promise<number[]> {
  const latencies: number[] = [];
  const consumer = kafka.consumer({ groupId: pingGroup, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: pingTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      latencies.push(Date.now() - Number(message.value!.toString()));
    },
  });
  // Wait for the group to own the partition before timing anything.
  await until(
    'ping consumer assignment',
    async () => {
      await producer.send({ topic: pingTopic, acks: -1, messages: [{ value: String(Date.now()) }] });
      return latencies.length > 0 ? true : undefined;
    },
    30_000,
    300,
  );
  latencies.length = 0;
  const n = run === 'full' ? 500 : 150;
  for (let i = 0; i < n; i += 1) {
    await producer.send({ topic: pingTopic, acks: -1, messages: [{ value: String(Date.now()) }] });
    await new Promise((r) => setTimeout(r, 10));
  }
  await until('ping replies', () => (latencies.length >= n ? true : undefined), 10_000);
  await consumer.disconnect();
  return latencies;
}

interface PhaseResult {
  rate: number;
  achievedRate: number;
  windows: number;
  missing: number;
  countMismatches: number;
  lastReading: ReturnType<typeof summarize>;
  firstReading: ReturnType<typeof summarize>;
  afterWindowEnd: ReturnType<typeof summarize>;
  slope: number;
  keepsUp: boolean;
}

function analyse(phase: number, rate: number, achievedRate: number, fromMs: number, toMs: number): PhaseResult {
  const last: number[] = [];
  const first: number[] = [];
  const afterEnd: number[] = [];
  const points: { x: number; y: number }[] = [];
  let windows = 0;
  let missing = 0;
  let countMismatches = 0;
  for (const [key, p] of produced) {
    if (p.phase !== phase) continue;
    const start = Number(key.slice(key.lastIndexOf('|') + 1));
    // Whole windows inside the phase only: a window cut by a rate change mixes two rates.
    if (start < fromMs || start + W > toMs) continue;
    windows += 1;
    const e = emitted.get(key);
    if (!e) {
      missing += 1;
      continue;
    }
    if (e.count !== p.count) countMismatches += 1;
    last.push(e.outAppend - p.last);
    first.push(e.outAppend - p.first);
    afterEnd.push(e.outAppend - (start + W));
    points.push({ x: (start - fromMs) / 1000, y: (e.outAppend - p.last) / 1000 });
  }
  const s = slope(points);
  return {
    rate,
    achievedRate: round(achievedRate, 0),
    windows,
    missing,
    countMismatches,
    lastReading: summarize(last),
    firstReading: summarize(first),
    afterWindowEnd: summarize(afterEnd),
    slope: round(s, 3),
    keepsUp: missing === 0 && windows > 0 && s < SLOPE_LIMIT,
  };
}

async function main(): Promise<void> {
  await admin.connect();
  let producer: Producer | undefined;
  let reader: Consumer | undefined;
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [...Object.values(settings.topics), pingTopic].map((topic) => ({
        topic,
        numPartitions: topic === pingTopic ? 1 : PARTITIONS,
        replicationFactor: 1,
      })),
    });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();

    const ping = summarize(await rawRoundTrip(producer));
    console.log('raw Kafka produce -> consume:', ping);

    reader = kafka.consumer({ groupId: readerGroup, maxWaitTimeInMs: 200 });
    await reader.connect();
    await reader.subscribe({ topic: settings.topics.processed, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const received = Date.now();
        const w = JSON.parse(message.value!.toString()) as { userId: string; windowStart: string; count: number };
        const windowStart = Date.parse(w.windowStart);
        const key = `${w.userId}|${windowStart}`;
        if (emitted.has(key)) duplicates += 1;
        else emitted.set(key, { key, windowStart, count: w.count, outAppend: Number(message.timestamp), received });
      },
    });

    const t0 = Date.now();
    const deployed = await deployJob(clients, settings, { log: (m) => console.log(`deploy: ${m}`) });
    console.log(
      `job ${deployed.jobId} ${deployed.state} after ${Date.now() - t0} ms (window ${WINDOW_S} s, lateness ${LATENESS_S} s, parallelism ${settings.parallelism})`,
    );

    // Warm-up at the lowest rate until windows come out: the source has to find its partitions.
    currentPhase = -1;
    const warmStop = new AbortController();
    const warm = paced(RATES[0]!, 120, (n) => produceReadings(producer!, n), { signal: warmStop.signal });
    await until('first window from the job', () => (emitted.size > 0 ? true : undefined), 120_000, 200);
    // A few more seconds so the first measured phase does not start on a cold job.
    await new Promise((r) => setTimeout(r, 3_000));
    warmStop.abort();
    await warm;
    console.log(`first window after ${Date.now() - t0} ms from deploy`);

    const results: PhaseResult[] = [];
    for (const [phase, rate] of RATES.entries()) {
      currentPhase = phase;
      const startedAt = Date.now();
      const { sent, elapsedMs } = await paced(rate, PHASE_S, (n) => produceReadings(producer!, n));
      const endedAt = Date.now();
      // A trickle keeps the watermark moving so the phase's last windows close; at most 45 s of backlog.
      currentPhase = -2;
      const from = startedAt + SETTLE_S * 1000;
      const closingStop = new AbortController();
      const closing = paced(200, 60, (n) => produceReadings(producer!, n), { signal: closingStop.signal });
      await until(
        `windows of the ${rate}/s phase`,
        () => {
          const pending = [...produced].some(([key, p]) => {
            if (p.phase !== phase) return false;
            const start = Number(key.slice(key.lastIndexOf('|') + 1));
            return start >= from && start + W <= endedAt && !emitted.has(key);
          });
          return pending ? undefined : true;
        },
        45_000,
        200,
      ).catch(() => undefined);
      closingStop.abort();
      await closing;
      const r = analyse(phase, rate, sent / (elapsedMs / 1000), from, endedAt);
      results.push(r);
      console.log(
        `rate ${rate}/s (achieved ${r.achievedRate}/s): windows ${r.windows}, missing ${r.missing}, count mismatches ${r.countMismatches}, ` +
          `latency from last reading p50 ${r.lastReading.p50} p99 ${r.lastReading.p99} ms, slope ${r.slope} s/s -> ${r.keepsUp ? 'keeps up' : 'falls behind'}`,
      );
      if (!r.keepsUp) break;
    }

    const base = results[0]!;
    // The sink leaves the record timestamp to the Kafka producer (its send time); a consumer sees it shortly after.
    const readDelay = summarize([...emitted.values()].map((e) => e.received - e.outAppend));
    console.log('processed topic: receipt - append timestamp', readDelay);
    const kept = results.filter((r) => r.keepsUp);
    const sustained = kept.at(-1);
    const failed = results.find((r) => !r.keepsUp);
    const floorMs = LATENESS_S * 1000 + 200;
    const setup = `private job: ${WINDOW_S} s tumbling windows, ${LATENESS_S} s lateness, parallelism ${settings.parallelism}, checkpoint every ${settings.checkpointIntervalMs} ms, watermark interval 200 ms (Flink default); ${USERS} users on ${PARTITIONS} partitions, heart rate with event time = now`;
    const figures: Figure[] = [
      {
        name: `flink event-to-output latency p50 (newest reading of a window -> window on the processed topic, ${base.rate}/s)`,
        figure: base.lastReading.p50,
        unit: 'ms',
        baseline: ping.p50,
        baselineName: 'raw Kafka produce -> consume round trip p50',
        ratio: round(base.lastReading.p50 / ping.p50),
        better: 'lower',
        note: setup,
      },
      {
        name: `flink event-to-output latency p99 (${base.rate}/s)`,
        figure: base.lastReading.p99,
        unit: 'ms',
        baseline: ping.p99,
        baselineName: 'raw Kafka produce -> consume round trip p99',
        ratio: round(base.lastReading.p99 / ping.p99),
        better: 'lower',
        target: `floor about lateness + watermark interval = ${floorMs} ms`,
      },
      {
        name: `flink latency from a window's first reading p50 (${base.rate}/s; includes the ${WINDOW_S} s window)`,
        figure: base.firstReading.p50,
        unit: 'ms',
        better: 'lower',
      },
      {
        name: 'flink latency after window end p50 (window end -> window on the processed topic)',
        figure: base.afterWindowEnd.p50,
        unit: 'ms',
        better: 'lower',
      },
      {
        name: 'flink sustained input rate (highest rate tried whose output lag does not grow)',
        figure: sustained ? sustained.achievedRate : 0,
        unit: 'readings/s',
        better: 'higher',
        note: failed
          ? `falls behind at ${failed.rate}/s (latency slope ${failed.slope} s/s, ${failed.missing} of ${failed.windows} windows not out in time): the limit is between ${sustained?.rate ?? 0} and ${failed.rate}/s`
          : `kept up at every rate tried (up to ${RATES.at(-1)}/s): the limit is above that`,
      },
      ...results.map((r): Figure => ({
        name: `flink growth: latency p50 at ${r.rate}/s input`,
        figure: r.lastReading.p50,
        unit: 'ms',
        better: 'lower',
        series: 'Flink event-to-output latency p50 vs input rate',
        x: r.rate,
        xUnit: 'readings/s into the job',
        note: `${r.rate}/s: achieved ${r.achievedRate}/s, p99 ${r.lastReading.p99} ms, slope ${r.slope} s/s, ${r.windows} windows, ${r.missing} missing, ${r.countMismatches} with a wrong count -> ${r.keepsUp ? 'keeps up' : 'falls behind'}`,
      })),
    ];
    const file = writeResult({
      bench: 'flink',
      mode: run,
      figures,
      notes: [
        setup,
        `raw Kafka round trip (1 partition, acks=all, kafkajs both ends): p50 ${ping.p50} ms, p99 ${ping.p99} ms over ${ping.n} messages`,
        `output windows are read by this process ${readDelay.p50} ms (p50) after their append timestamp, so that timestamp is when the window appeared`,
        `duplicate windows seen: ${duplicates} (at-least-once sink; none expected without a restart)`,
        `latency floor: a window closes when every partition has shown a reading at or past its end + lateness, then waits for the next periodic watermark (200 ms) -> lateness + about 100 ms on average + the per-partition gap between readings + the sink's write`,
      ],
    });
    console.log(JSON.stringify({ ping, results }, null, 2));
    console.log(`wrote ${file}`);
    console.log(`wrote ${renderGrowthSvg() ?? 'no growth plot'}`);
  } finally {
    const live = await liveJobs(clients.jobManager, settings.jobName).catch(() => []);
    if (live.length > 0)
      await cancelJobs(
        clients.jobManager,
        live.map((j) => j.id),
      ).catch((e: unknown) => console.error('cancel failed:', e));
    await reader?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [...Object.values(settings.topics), pingTopic] }).catch(() => undefined);
    await admin.deleteGroups([readerGroup, pingGroup, settings.consumerGroup]).catch(() => undefined);
    await admin.disconnect();
  }
}

await main();
process.exit(0);
