/**
 * `npm run bench:ingest [-- --full]`: readings per second through the `ingestReadings` mutation
 * (GraphQL over HTTP -> validation -> Kafka acknowledgement), batches of 500 from 8 concurrent
 * clients, beside a raw kafkajs producer sending the same messages in the same run.
 *
 * The gateway runs as its own process in production mode (token verification included), pointed
 * at a scratch topic with the partition count of fitbit_ingestion, so the worker and Flink do not
 * consume the benchmark's load.
 */
import { randomUUID } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { ingestLoad, mutationBodies, readingBatch } from './lib/ingest-load.js';
import { freePort, startService } from './lib/processes.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { benchToken, productionEnv } from './lib/production.js';

const config = loadConfig();
const run = mode();
const seconds = run === 'full' ? 20 : 6;
const clients = 8;
const batch = 500;
const topic = `bench_ingest_${Date.now()}`;

const kafka = new Kafka({ clientId: 'bench-ingest', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();

async function rawRun(): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const batches = Array.from({ length: clients * 4 }, (_, k) =>
    readingBatch(k, batch).map((r) => ({
      key: r.userId,
      value: JSON.stringify({
        eventId: randomUUID(),
        userId: r.userId,
        metric: 'heart_rate',
        time: r.time,
        value: r.value,
      }),
      headers: { 'schema-version': '1' },
    })),
  );
  await producer.send({ topic, acks: -1, messages: batches[0]! });
  let sent = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let k = c;
      while (Date.now() < deadline) {
        const messages = batches[k % batches.length]!;
        await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
        sent += messages.length;
        k += clients;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await producer.disconnect();
  return sent / elapsed;
}

await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: [{ topic, numPartitions: config.kafka.partitions, replicationFactor: 1 }],
});
const port = await freePort();
// Production mode with a token, as deployed; the rate limit is off because one load generator is one subject.
const gateway = await startService({
  name: 'gateway',
  script: 'src/gateway/main.ts',
  port,
  env: {
    KAFKA_TOPIC: topic,
    ...productionEnv,
    LOG_LEVEL: 'warn',
  },
});
try {
  const token = await benchToken();
  const raw = await rawRun();
  const load = await ingestLoad({
    ports: [port],
    clients,
    seconds,
    bodies: mutationBodies(clients * 4, batch),
    headers: { authorization: `Bearer ${token}` },
  });
  const figures: Figure[] = [
    {
      name: `ingest: ingestReadings mutation -> Kafka ack (${clients} clients x ${batch} readings)`,
      figure: round(load.perSecond, 0),
      unit: 'readings/s',
      baseline: round(raw, 0),
      baselineName: `raw kafkajs producer, same messages, ${clients} concurrent sends of ${batch}`,
      ratio: round(load.perSecond / raw),
      better: 'higher',
      target: '>= 100,000 readings/s and ratio >= 0.5',
      note: `mutation latency p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms over ${load.requests} requests`,
    },
  ];
  const file = writeResult({ bench: 'ingest', mode: run, figures });
  console.log(JSON.stringify(figures, null, 2));
  console.log(`wrote ${file}`);
} finally {
  await gateway.stop();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}
