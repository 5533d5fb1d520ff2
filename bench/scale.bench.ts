/**
 * `npm run bench:scale [-- --full]`: one instance against two, on the same stack and machine.
 *
 * Ingest: readings/s through the `ingestReadings` mutation into Kafka (as bench/ingest.bench.ts:
 * batches of 500 prepared up front, back to back, for a fixed time), with 16 concurrent clients in
 * both cases: all on one gateway process, then 8 on each of two. The gateways are production
 * processes (`tsx src/gateway/main.ts`) on a private 6-partition topic.
 *
 * Worker: rows/s from Kafka into `readings` with one consumer worker process, then with two in one
 * group (`tsx src/consumer/main.ts`, distinct CONSUMER_METRICS_PORT). Each case gets its own topic
 * of 6 partitions, its own group and users. The clock starts when every worker is ready and the
 * group holds all six partitions (so the join and rebalance are not counted); the readings are sent
 * then, and the clock stops when the workers' rows_inserted counters reach the total.
 *
 * Everything (topics, groups, rows) is removed at the end, also on failure. Writes bench/results/scale.json.
 */
import { loadavg } from 'node:os';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { freePort, scrape, startService, type ServiceProcess } from './lib/processes.js';
import { renderGrowthSvg } from './lib/plot.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { runId, until } from './lib/util.js';
import { ingestLoad, mutationBodies } from './lib/ingest-load.js';

const run = mode();
const INGEST_SECONDS = run === 'full' ? 20 : 6;
const CLIENTS = 16;
const BATCH = 500;
const WORKER_ROWS = run === 'full' ? 600_000 : 150_000;
const PARTITIONS = 6;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const id = runId();
const kafka = new Kafka({ clientId: `bench-scale-${id}`, brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const db = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
const ingestTopic = `bench_scale_${id}_ingest`;
const workerTopics = [1, 2].map((n) => `bench_scale_${id}_worker${n}`);
const dlqTopic = `bench_scale_${id}_dlq`;
const groups = [1, 2].map((n) => `bench-scale-${id}-w${n}`);
const userPrefix = `bench-scale-${id}-`;
// Rate limiting off: one load generator is one subject, and the limit is per subject per process.
const baseEnv = {
  GRAPHIQL: 'false',
  AUTH_MODE: 'development',
  RATE_LIMIT_PER_SECOND: '0',
  LOG_LEVEL: 'warn',
  KAFKA_DLQ_TOPIC: dlqTopic,
};
const started: ServiceProcess[] = [];

async function startGateways(n: number): Promise<ServiceProcess[]> {
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const gws = await Promise.all(
    ports.map((port, i) =>
      startService({
        name: `gateway-${i}`,
        script: 'src/gateway/main.ts',
        port,
        env: { ...baseEnv, KAFKA_TOPIC: ingestTopic },
      }),
    ),
  );
  started.push(...gws);
  return gws;
}

async function stopAll(list: ServiceProcess[]): Promise<void> {
  await Promise.all(list.map((p) => p.stop()));
  for (const p of list) started.splice(started.indexOf(p), 1);
}

type Message = { key: string; value: string; headers: Record<string, string> };

/** The readings of one case, encoded before the clock starts so that sending them is cheap. */
function encode(prefix: string, rows: number): Message[] {
  const start = Date.now() - 86_400_000;
  return Array.from({ length: rows }, (_, j) => {
    const userId = `${prefix}${j % 1000}`;
    return {
      key: userId,
      value: JSON.stringify({
        userId,
        metric: 'heart_rate',
        time: new Date(start + Math.floor(j / 1000) * 1000).toISOString(),
        value: 60 + (j % 40),
        eventId: `${prefix}${j}`,
      }),
      headers: { 'schema-version': '1' },
    };
  });
}

async function send(topic: string, messages: Message[]): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += 10_000) {
    inFlight.push(
      producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: messages.slice(i, i + 10_000) }),
    );
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const ms = performance.now() - t0;
  await producer.disconnect();
  return ms;
}

/**
 * The workers start on the empty topic and the clock starts once the group holds every partition
 * (a topic filled beforehand would be drained by whichever worker joined first). The readings are
 * then sent as fast as Kafka takes them, and the clock stops when the workers have inserted them
 * all: the producer runs at about twice a worker's rate, so the workers set the pace.
 */
async function workerRun(
  n: number,
  topic: string,
  group: string,
  prefix: string,
): Promise<{ rate: number; produceRate: number; perWorker: number[] }> {
  const messages = encode(prefix, WORKER_ROWS);
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const workers = await Promise.all(
    ports.map((port, i) =>
      startService({
        name: `worker-${i}`,
        script: 'src/consumer/main.ts',
        port,
        env: { ...baseEnv, KAFKA_TOPIC: topic, KAFKA_CONSUMER_GROUP: group },
      }),
    ),
  );
  started.push(...workers);
  try {
    const inserted = async () =>
      (await Promise.all(workers.map((w) => scrape(w.base, 'fitbit_consumer_rows_inserted_total')))).reduce(
        (a, b) => a + b,
        0,
      );
    await until(
      'the group holding all partitions',
      async () => {
        const held = await Promise.all(workers.map((w) => scrape(w.base, 'fitbit_consumer_assigned_partitions')));
        return held.reduce((a, b) => a + b, 0) === PARTITIONS && held.every((h) => h > 0) ? true : undefined;
      },
      60_000,
      50,
    );
    const t0 = performance.now();
    const produceMs = await send(topic, messages);
    await until('all rows inserted', async () => ((await inserted()) >= WORKER_ROWS ? true : undefined), 300_000, 20);
    const seconds = (performance.now() - t0) / 1000;
    const perWorker = await Promise.all(workers.map((w) => scrape(w.base, 'fitbit_consumer_rows_inserted_total')));
    const stored = Number(
      (await db.query('SELECT count(*) FROM readings WHERE user_id LIKE $1', [`${prefix}%`])).rows[0].count,
    );
    if (stored !== WORKER_ROWS) throw new Error(`expected ${WORKER_ROWS} rows under ${prefix}, found ${stored}`);
    return { rate: WORKER_ROWS / seconds, produceRate: WORKER_ROWS / (produceMs / 1000), perWorker };
  } finally {
    await stopAll(workers);
  }
}

async function main(): Promise<void> {
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [ingestTopic, ...workerTopics, dlqTopic].map((topic) => ({
        topic,
        numPartitions: topic === dlqTopic ? 1 : PARTITIONS,
        replicationFactor: 1,
      })),
    });

    const bodies = mutationBodies(CLIENTS * 4, BATCH);
    const one = await startGateways(1);
    const ingestOne = (await ingestLoad({ ports: [one[0]!.port], clients: CLIENTS, seconds: INGEST_SECONDS, bodies }))
      .perSecond;
    await stopAll(one);
    const two = await startGateways(2);
    const ingestTwo = (
      await ingestLoad({ ports: two.map((g) => g.port), clients: CLIENTS, seconds: INGEST_SECONDS, bodies })
    ).perSecond;
    await stopAll(two);
    console.log(`ingest: one gateway ${Math.round(ingestOne)}/s, two gateways ${Math.round(ingestTwo)}/s`);

    const w1 = await workerRun(1, workerTopics[0]!, groups[0]!, `${userPrefix}w1-`);
    console.log(`worker: one worker ${Math.round(w1.rate)} rows/s (readings sent at ${Math.round(w1.produceRate)}/s)`);
    const w2 = await workerRun(2, workerTopics[1]!, groups[1]!, `${userPrefix}w2-`);
    console.log(
      `worker: two workers ${Math.round(w2.rate)} rows/s (readings sent at ${Math.round(w2.produceRate)}/s; per worker ${w2.perWorker.join(' + ')})`,
    );

    // When the workers keep pace with the sender, the sender is the limit and the figure a lower bound.
    const bound = (w: { rate: number; produceRate: number }) =>
      w.rate >= 0.9 * w.produceRate
        ? ` The workers kept pace with the sender (${Math.round(w.produceRate)}/s): this is a lower bound set by the sender on this machine, not the workers' limit.`
        : '';
    const figures: Figure[] = [
      {
        name: 'scale: ingest, one gateway process (16 clients x 500 readings)',
        figure: round(ingestOne, 0),
        unit: 'readings/s',
        better: 'higher',
        series: 'ingest readings/s vs gateway processes',
        x: 1,
        xUnit: 'gateway processes',
      },
      {
        name: 'scale: ingest, two gateway processes (8 clients each)',
        figure: round(ingestTwo, 0),
        unit: 'readings/s',
        baseline: round(ingestOne, 0),
        baselineName: 'one gateway process, same 16 clients',
        ratio: round(ingestTwo / ingestOne),
        better: 'higher',
        series: 'ingest readings/s vs gateway processes',
        x: 2,
        xUnit: 'gateway processes',
      },
      {
        name: 'scale: worker, one process (6 partitions)',
        figure: round(w1.rate, 0),
        unit: 'rows/s',
        better: 'higher',
        series: 'worker rows/s vs worker processes (sender-bound here)',
        x: 1,
        xUnit: 'worker processes',
        note: `${WORKER_ROWS} readings sent after the group held all partitions (at ${Math.round(w1.produceRate)}/s), clock stopped at the last insert.${bound(w1)}`,
      },
      {
        name: 'scale: worker, two processes in one group (3 partitions each)',
        figure: round(w2.rate, 0),
        unit: 'rows/s',
        baseline: round(w1.rate, 0),
        baselineName: 'one worker process',
        ratio: round(w2.rate / w1.rate),
        better: 'higher',
        series: 'worker rows/s vs worker processes (sender-bound here)',
        x: 2,
        xUnit: 'worker processes',
        note: `sent at ${Math.round(w2.produceRate)}/s; rows inserted per worker ${w2.perWorker.join(' + ')}.${bound(w2)}`,
      },
    ];
    const file = writeResult({
      bench: 'scale',
      mode: run,
      figures,
      notes: [
        `ingest: ${INGEST_SECONDS} s per case after a warm-up, private ${PARTITIONS}-partition topic; worker: ${WORKER_ROWS} readings per case, sent once the group is settled`,
        'every process (gateways or workers, Kafka, Postgres, the load generator in this process) shares the same 2 cores: a second instance adds no CPU, so a ratio near 1 is the expected outcome here; see docs/scaling.md',
        `load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)} (other processes on the machine included)`,
      ],
    });
    console.log(`wrote ${file}`);
    console.log(`wrote ${renderGrowthSvg() ?? 'no growth plot'}`);
  } finally {
    await stopAll([...started]);
    await admin.deleteTopics({ topics: [ingestTopic, ...workerTopics, dlqTopic] }).catch(() => undefined);
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
    await db.query('DELETE FROM readings WHERE user_id LIKE $1', [`${userPrefix}%`]).catch(() => undefined);
    await db.end();
  }
}

await main();
