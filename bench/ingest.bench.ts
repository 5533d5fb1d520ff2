/**
 * `npm run bench:ingest [-- --full]`: readings per second through the `ingestReadings` mutation
 * (GraphQL over HTTP -> validation -> Kafka acknowledgement) beside a raw kafkajs producer sending
 * the same messages in the same run.
 *
 * The headline case is 8 concurrent clients posting batches of 500 onto a topic with the partition
 * count of fitbit_ingestion. Beside it, on the same topic, the columnar `ingestSeries`: each
 * request one user's 500 readings of one device as two arrays, against raw kafkajs sending the same
 * readings (one user's 500 messages per send). The growth curves then vary one thing at a time: the topic's partition
 * count (batch 500) and the batch size (that partition count), each case measured through the
 * mutation and through raw kafkajs.
 *
 * `--series-only` (or `--readings-only`) measures the ingestSeries (or ingestReadings) headline case
 * alone and writes no result file: a run to profile the gateway with (BENCH_CPU_PROF_DIR=<dir>,
 * bench/lib/processes.ts).
 *
 * Each gateway runs as its own process in production mode (token verification included), pointed
 * at a scratch topic, so the worker and Flink do not consume the benchmark's load.
 */
import { loadavg } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { ensureTopics } from '../src/kafka/topics.js';
import { ingestLoad, mutationBodies, seriesBodies } from './lib/ingest-load.js';
import { rawProducerRun, type Shape } from './lib/raw-producer.js';
import { freePort, processTreeCpuMs, startService, type ServiceProcess } from './lib/processes.js';
import { summarize } from './lib/util.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { benchToken, productionEnv } from './lib/production.js';

const config = loadConfig();
const run = mode();
const seconds = run === 'full' ? 20 : 6;
const curveSeconds = run === 'full' ? 10 : 4;
const clients = 8;
const batch = 500;
const headlinePartitions = config.kafka.partitions;
const partitionCounts = run === 'full' ? [1, 3, 6, 12, 24] : [1, 6, 12];
const batchSizes = run === 'full' ? [50, 100, 500, 2000, 5000] : [100, 500, 2000];
const seriesOnly = process.argv.includes('--series-only');
const readingsOnly = process.argv.includes('--readings-only');
/** One headline case alone: a run to profile, no result file. */
const oneCase = seriesOnly || readingsOnly;

const kafka = new Kafka({ clientId: 'bench-ingest', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const topics: string[] = [];

/**
 * Readings per second from raw kafkajs: `clients` concurrent sends of `size` messages on one
 * idempotent producer, the messages the gateway would write for the same readings.
 */
function rawRun(topic: string, size: number, secs: number, shape: Shape = 'readings') {
  return rawProducerRun(kafka, { topic, size, seconds: secs, clients, shape });
}

async function scratchTopic(partitions: number): Promise<string> {
  const topic = `bench_ingest_${partitions}p_${Date.now()}`;
  // The stack's replication, so the same bench measures the cluster profile's acks=all cost.
  const { replicationFactor, minInsyncReplicas } = config.kafka;
  await ensureTopics(admin, [{ topic, partitions, replicationFactor, minInsyncReplicas }]);
  topics.push(topic);
  return topic;
}

/** Production mode with a token, as deployed; the rate limit is off because one load generator is one subject. */
async function gatewayOn(topic: string): Promise<ServiceProcess> {
  return startService({
    name: 'gateway',
    script: 'src/gateway/main.ts',
    port: await freePort(),
    env: { KAFKA_TOPIC: topic, ...productionEnv, LOG_LEVEL: 'warn' },
  });
}

interface Case {
  partitions: number;
  batch: number;
  mutation: number;
  raw: number;
  p99: number;
  /** Gateway process CPU (every thread) per reading, in microseconds. */
  cpuUsPerReading: number;
}

const token = await benchToken();
const headers = { authorization: `Bearer ${token}` };

/**
 * Rounds alternate between the two sides (raw kafkajs, then the gateway), so that other work
 * coming and going on the shared machine falls on both; each side's rate is its total over the
 * rounds.
 */
const ROUNDS = 3;

async function measure(
  gateway: ServiceProcess,
  topic: string,
  partitions: number,
  size: number,
  secs: number,
  shape: Shape = 'readings',
) {
  const bodies = (shape === 'series' ? seriesBodies : mutationBodies)(clients * 4, size);
  let rawSent = 0;
  let rawSeconds = 0;
  let accepted = 0;
  let loadSeconds = 0;
  let requests = 0;
  let cpuMs = 0;
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const raw = await rawRun(topic, size, secs / ROUNDS, shape);
    rawSent += raw.sent;
    rawSeconds += raw.seconds;
    const cpu0 = processTreeCpuMs(gateway.pid);
    const load = await ingestLoad({ ports: [gateway.port], clients, seconds: secs / ROUNDS, bodies, headers });
    // Readings the gateway took in while its CPU was counted: the measured requests and the warm-up's.
    cpuMs += processTreeCpuMs(gateway.pid) - cpu0;
    requests += load.requests + clients;
    accepted += load.accepted;
    loadSeconds += load.seconds;
    latencies.push(...load.latencies);
  }
  const latencyMs = summarize(latencies);
  const load = { requests: latencies.length, latencyMs };
  const raw = rawSent / rawSeconds;
  const cpuUsPerReading = (cpuMs * 1000) / (requests * size);
  const c: Case = {
    partitions,
    batch: size,
    mutation: accepted / loadSeconds,
    raw,
    p99: latencyMs.p99,
    cpuUsPerReading,
  };
  console.log(
    `${shape === 'series' ? 'ingestSeries, ' : ''}${partitions} partitions, batch ${size}: mutation ${Math.round(c.mutation)}/s, raw ${Math.round(raw)}/s, ` +
      `ratio ${round(c.mutation / raw)}, mutation p50 ${latencyMs.p50} ms p99 ${latencyMs.p99} ms, ` +
      `gateway CPU ${round(c.cpuUsPerReading)} us a reading, load average ${round(loadavg()[0]!)}`,
  );
  return { c, load };
}

await admin.connect();
const gateways: ServiceProcess[] = [];
try {
  const figures: Figure[] = [];
  const byPartitions: Case[] = [];
  const byBatch: Case[] = [];
  for (const partitions of oneCase ? [headlinePartitions] : [...new Set([headlinePartitions, ...partitionCounts])]) {
    const topic = await scratchTopic(partitions);
    const gateway = await gatewayOn(topic);
    gateways.push(gateway);
    if (partitions === headlinePartitions && !seriesOnly) {
      const { c, load } = await measure(gateway, topic, partitions, batch, seconds);
      figures.push({
        name: `ingest: ingestReadings mutation -> Kafka ack (${clients} clients x ${batch} readings)`,
        figure: round(c.mutation, 0),
        unit: 'readings/s',
        baseline: round(c.raw, 0),
        baselineName: `raw kafkajs producer, same messages, ${clients} concurrent sends of ${batch}`,
        ratio: round(c.mutation / c.raw),
        better: 'higher',
        target: 'ratio >= 0.8',
        note: `mutation latency p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms over ${load.requests} requests; gateway CPU ${round(c.cpuUsPerReading)} us a reading (every thread)`,
      });
    }
    if (partitions === headlinePartitions && !readingsOnly) {
      const series = await measure(gateway, topic, partitions, batch, seconds, 'series');
      figures.push({
        name: `ingest: ingestSeries mutation -> Kafka ack (${clients} clients x one user's ${batch} readings)`,
        figure: round(series.c.mutation, 0),
        unit: 'readings/s',
        baseline: round(series.c.raw, 0),
        baselineName: `raw kafkajs producer, same messages, ${clients} concurrent sends of one user's ${batch}`,
        ratio: round(series.c.mutation / series.c.raw),
        better: 'higher',
        target: 'ratio >= 0.9',
        note: `ingestSeries latency p50 ${series.load.latencyMs.p50} ms, p99 ${series.load.latencyMs.p99} ms over ${series.load.requests} requests; gateway CPU ${round(series.c.cpuUsPerReading)} us a reading (every thread)`,
      });
    }
    if (partitions === headlinePartitions && !oneCase) {
      for (const size of batchSizes) byBatch.push((await measure(gateway, topic, partitions, size, curveSeconds)).c);
    }
    if (partitionCounts.includes(partitions) && !oneCase)
      byPartitions.push((await measure(gateway, topic, partitions, batch, curveSeconds)).c);
    await gateway.stop();
    gateways.pop();
  }
  const point = (c: Case, series: string, x: number, xUnit: string, label: string): Figure => ({
    name: `ingest growth: ${label}`,
    figure: round(c.mutation, 0),
    unit: 'readings/s',
    baseline: round(c.raw, 0),
    baselineName: 'raw kafkajs, same case',
    ratio: round(c.mutation / c.raw),
    better: 'higher',
    series,
    x,
    xUnit,
    note: `mutation p99 ${c.p99} ms`,
  });
  byPartitions.sort((a, b) => a.partitions - b.partitions);
  for (const c of byPartitions)
    figures.push(
      point(
        c,
        'ingest readings/s vs partitions (batch 500)',
        c.partitions,
        'partitions',
        `${c.partitions} partitions, batch ${c.batch}`,
      ),
    );
  for (const c of byBatch)
    figures.push(
      point(
        c,
        'ingest readings/s vs batch size',
        c.batch,
        'readings per mutation',
        `batch ${c.batch}, ${c.partitions} partitions`,
      ),
    );
  if (oneCase) {
    console.log('one case measured: no result file written');
  } else {
    const file = writeResult({
      bench: 'ingest',
      mode: run,
      figures,
      notes: [
        `${clients} concurrent clients on keep-alive HTTP; headline ${seconds} s per side, curve points ${curveSeconds} s per side, each side in ${ROUNDS} rounds alternating with the other; one gateway process per topic`,
        `load average (1 min) at the end: ${round(loadavg()[0]!)} (other processes on the machine included)`,
        'raw side: one idempotent kafkajs producer (maxInFlightRequests 1, acks -1), the same messages and concurrency; the gateway coalesces concurrent mutations into one produce request',
      ],
    });
    console.log(JSON.stringify(figures, null, 2));
    console.log(`wrote ${file}`);
  }
} finally {
  for (const g of gateways) await g.stop();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}
