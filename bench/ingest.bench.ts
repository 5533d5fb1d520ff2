/**
 * `npm run bench:ingest [-- --full]`: readings per second through the `ingestReadings` mutation
 * (GraphQL over HTTP -> validation -> Kafka acknowledgement), batches of 500 from 8 concurrent
 * clients, beside a raw kafkajs producer sending the same messages in the same run.
 *
 * The gateway runs as its own process (as in production), pointed at a scratch topic with the same
 * partition count as fitbit_ingestion, so the worker and Flink do not consume the benchmark's load.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';

const config = loadConfig();
const run = mode();
const seconds = run === 'full' ? 20 : 6;
const clients = 8;
const batch = 500;
const port = 4190;
const topic = `bench_ingest_${Date.now()}`;

const kafka = new Kafka({ clientId: 'bench-ingest', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();

function readings(client: number, round: number) {
  const base = Date.now() - 3_600_000;
  return Array.from({ length: batch }, (_, i) => ({
    userId: `bench-user-${(client * 131 + i) % 1000}`,
    metric: 'HEART_RATE',
    time: new Date(base + round * batch + i).toISOString(),
    value: 60 + (i % 40),
  }));
}

const MUTATION = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted rejected{index}}}';

async function gatewayRun(): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  // Bodies are prepared up front so the load generator spends its CPU on sending, not on JSON.
  const bodies = Array.from({ length: clients * 4 }, (_, k) => JSON.stringify({ query: MUTATION, variables: { r: readings(k % clients, k) } }));
  const post = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const json = JSON.parse(Buffer.concat(chunks).toString()) as { data?: { ingestReadings: { accepted: number } }; errors?: unknown };
            if (!json.data) reject(new Error(`mutation failed: ${JSON.stringify(json.errors)}`));
            else resolve(json.data.ingestReadings.accepted);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  // Warm-up: JIT, connections, metadata.
  await Promise.all(bodies.slice(0, clients).map(post));
  let accepted = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let k = c;
      while (Date.now() < deadline) {
        accepted += await post(bodies[k % bodies.length]!);
        k += clients;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return accepted / elapsed;
}

async function rawRun(): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const batches = Array.from({ length: clients * 4 }, (_, k) =>
    readings(k % clients, k).map((r) => ({
      key: r.userId,
      value: JSON.stringify({ eventId: randomUUID(), userId: r.userId, metric: 'heart_rate', time: r.time, value: r.value }),
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

async function waitForGateway(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('gateway did not become ready');
}

await admin.connect();
await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: config.kafka.partitions, replicationFactor: 1 }] });
const gateway = spawn('node_modules/.bin/tsx', ['src/gateway/main.ts'], {
  env: { ...process.env, PORT: String(port), KAFKA_TOPIC: topic, LOG_LEVEL: 'warn', NODE_ENV: 'production' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  await waitForGateway();
  const raw = await rawRun();
  const viaGateway = await gatewayRun();
  const figures: Figure[] = [
    {
      name: 'ingest: ingestReadings mutation -> Kafka ack (8 clients x 500 readings)',
      figure: round(viaGateway, 0),
      unit: 'readings/s',
      baseline: round(raw, 0),
      baselineName: 'raw kafkajs producer, same messages, 8 concurrent sends of 500',
      ratio: round(viaGateway / raw),
      better: 'higher',
      target: '>= 100,000 readings/s and ratio >= 0.5',
    },
  ];
  const file = writeResult({ bench: 'ingest', mode: run, figures });
  console.log(JSON.stringify(figures, null, 2));
  console.log(`wrote ${file}`);
} finally {
  gateway.kill('SIGTERM');
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}
