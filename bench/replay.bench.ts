/**
 * `npm run bench:replay [-- --full]`: how fast a subscription resumed with a cursor catches up.
 *
 * One user's metric windows (N: 8,000 short, 9,000 full, inside the default replay log of 10,000
 * per partition) are produced onto private output topics while a gateway (its own child process)
 * reads them. Then a graphql-ws client resumes `metricWindows` after the first window's cursor and
 * receives the other N - 1:
 * - "from the log": the gateway's in-memory replay log serves all of them;
 * - "from the store": a second gateway whose log holds 100 events per partition, so the history
 *   store (Postgres, filled by the worker's history writer run here) serves the rest.
 * Throughput = events received / (last event received - subscribe sent).
 *
 * The baseline, in the same run: a raw kafkajs consumer (new group, from the beginning of the
 * partition) reading the same N messages, timed from run() to the last message.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createKafka } from '../src/kafka/client.js';
import { createPool } from '../src/timescale/pool.js';
import { migrate } from '../src/timescale/migrations.js';
import { createHistoryWriter, historyGroupId } from '../src/consumer/history.writer.js';
import { startGatewayChild, type GatewayChild } from './lib/gateway-child.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { runId, until } from './lib/util.js';

const run = mode();
const N = run === 'full' ? 9_000 : 8_000;
const id = runId();
const env = {
  KAFKA_TOPIC: `bench_replay_${id}_ingestion`,
  KAFKA_PROCESSED_TOPIC: `bench_replay_${id}_processed`,
  KAFKA_ALERTS_TOPIC: `bench_replay_${id}_alerts`,
  KAFKA_DLQ_TOPIC: `bench_replay_${id}_dlq`,
  KAFKA_CONSUMER_GROUP: `bench-replay-${id}`,
  FLINK_HEARTBEAT_INTERVAL_MS: '0',
  AUTH_MODE: 'development',
  RATE_LIMIT_PER_SECOND: '0',
};
const user = `replay-${id}`;
const T0 = Date.UTC(2025, 0, 1);

const QUERY = `subscription($u: ID!, $after: String) {
  metricWindows(userId: $u, after: $after) { windowStart cursor }
}`;

const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'warn' });
const logger = createLogger(config, 'bench-replay');
const kafka = new Kafka({ clientId: 'bench-replay', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });

function windowJson(n: number): string {
  const start = T0 + n * 60_000;
  return JSON.stringify({
    userId: user,
    metric: 'heart_rate',
    windowStart: new Date(start).toISOString(),
    windowEnd: new Date(start + 60_000).toISOString(),
    count: 1,
    avg: 70,
    min: 70,
    max: 70,
    sum: 70,
  });
}

/** Subscribes (after `cursor`, if any) and resolves once `count` windows arrived; returns the timing. */
async function receive(
  gateway: GatewayChild,
  count: number,
  cursor?: string,
  onFirst?: (cursor: string) => void,
): Promise<{ ms: number; received: number; first: string | undefined }> {
  const client: Client = createClient({
    url: gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  let received = 0;
  let first: string | undefined;
  const started = performance.now();
  let last = started;
  const done = new Promise<void>((resolve, reject) => {
    client.subscribe<{ metricWindows: { cursor: string } }>(
      { query: QUERY, variables: { u: user, after: cursor } },
      {
        next: (r) => {
          if (r.errors) return reject(new Error(JSON.stringify(r.errors)));
          received += 1;
          last = performance.now();
          if (received === 1) {
            first = r.data!.metricWindows.cursor;
            onFirst?.(first);
          }
          if (received >= count) resolve();
        },
        error: reject,
        complete: () =>
          received < count && reject(new Error(`the subscription completed after ${received} of ${count} windows`)),
      },
    );
  });
  await done;
  await client.dispose();
  return { ms: last - started, received, first };
}

async function produceAll(producer: Producer, from: number, to: number): Promise<void> {
  for (let n = from; n < to; n += 500) {
    const messages = [];
    for (let i = n; i < Math.min(to, n + 500); i += 1) messages.push({ key: user, value: windowJson(i) });
    await producer.send({ topic: env.KAFKA_PROCESSED_TOPIC, acks: -1, messages });
  }
}

async function rawConsume(count: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-replay-raw-${id}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: env.KAFKA_PROCESSED_TOPIC, fromBeginning: true });
  let got = 0;
  let started = 0;
  let last = 0;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          JSON.parse(m.value!.toString()); // the same decoding work the gateway does
          got += 1;
        }
        last = performance.now();
        if (got >= count) resolve();
      },
    });
  });
  started = performance.now();
  await done;
  await consumer.disconnect();
  return last - started;
}

async function main(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [env.KAFKA_TOPIC, env.KAFKA_PROCESSED_TOPIC, env.KAFKA_ALERTS_TOPIC, env.KAFKA_DLQ_TOPIC].map((topic) => ({
      topic,
      numPartitions: 6,
      replicationFactor: 1,
    })),
  });
  const producer = kafka.producer();
  await producer.connect();
  const pool = createPool(config.postgres, logger, { max: 2 });
  await migrate(pool);
  const writer = createHistoryWriter({ config, logger, kafka: createKafka(config.kafka, logger), pool });
  await writer.start();

  const gateway = await startGatewayChild(env);
  const small = { gateway: undefined as GatewayChild | undefined };
  try {
    // Window 0 until the gateway delivers it: then the subscription was registered before the rest.
    let firstCursor: string | undefined;
    const live = receive(gateway, N, undefined, (c) => (firstCursor = c));
    await until('the first window', async () => {
      if (firstCursor) return true;
      await produceAll(producer, 0, 1);
      return undefined;
    });
    // (Window 0 may have been sent more than once; the hub delivers a repeat once.)
    const liveStarted = performance.now();
    await produceAll(producer, 1, N);
    const liveResult = await live;
    const liveMs = performance.now() - liveStarted;

    const fromLog = await receive(gateway, N - 1, firstCursor);
    const rawMs = await rawConsume(N);

    await until(
      'the history writer',
      async () => {
        const [offsets] = await admin.fetchOffsets({
          groupId: historyGroupId(config),
          topics: [env.KAFKA_PROCESSED_TOPIC],
        });
        const stored = offsets!.partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
        return stored >= N ? true : undefined;
      },
      60_000,
    );
    small.gateway = await startGatewayChild({ ...env, LIVE_REPLAY_PER_PARTITION: '100' });
    const fromStore = await receive(small.gateway, N - 1, firstCursor);

    const rate = (count: number, ms: number) => round((count / ms) * 1000, 0);
    const rawRate = rate(N, rawMs);
    const figures: Figure[] = [
      {
        name: 'replay from the log (events/s, cursor -> last event at the client)',
        figure: rate(fromLog.received, fromLog.ms),
        unit: 'events/s',
        baseline: rawRate,
        baselineName: 'kafkajs consumer reading the same partition from the beginning',
        ratio: round(rate(fromLog.received, fromLog.ms) / rawRate),
        better: 'higher',
        note: `${fromLog.received} windows in ${round(fromLog.ms, 0)} ms`,
      },
      {
        name: 'replay from the history store (events/s)',
        figure: rate(fromStore.received, fromStore.ms),
        unit: 'events/s',
        baseline: rawRate,
        baselineName: 'kafkajs consumer reading the same partition from the beginning',
        ratio: round(rate(fromStore.received, fromStore.ms) / rawRate),
        better: 'higher',
        note: `${fromStore.received} windows in ${round(fromStore.ms, 0)} ms; the gateway's log held 100 per partition`,
      },
      {
        name: 'live delivery of the same windows (produce -> client, events/s)',
        figure: rate(liveResult.received, liveMs),
        unit: 'events/s',
        better: 'higher',
        note: 'for comparison: one subscriber while the windows are produced in batches of 500',
      },
    ];
    const file = writeResult({
      bench: 'replay',
      mode: run,
      figures,
      notes: [`${N} windows of one user on a 6-partition topic; one graphql-ws client; gateways in child processes.`],
    });
    console.log(JSON.stringify(figures, null, 2));
    console.log(`wrote ${file}`);
  } finally {
    await small.gateway?.stop();
    await gateway.stop();
    await writer.stop();
    await pool.end();
    await producer.disconnect();
    await admin.deleteTopics({
      topics: [env.KAFKA_TOPIC, env.KAFKA_PROCESSED_TOPIC, env.KAFKA_ALERTS_TOPIC, env.KAFKA_DLQ_TOPIC],
    });
    await admin.deleteGroups([historyGroupId(config), `bench-replay-raw-${id}`]).catch(() => undefined);
    await admin.disconnect();
  }
}

await main();
