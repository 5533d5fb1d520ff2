/**
 * `npm run bench:replication [-- --full]`: what durability costs at ingest. The headline case of
 * `bench:ingest` (8 clients posting `ingestReadings` batches of 500 onto a scratch topic with the
 * ingestion topic's partition count, acks=all) against the default stack (one broker, replication
 * factor 1) and against the cluster profile (three brokers, replication factor 3 with
 * `min.insync.replicas` 2), alternating in one run so both see the same machine; each side beside
 * raw kafkajs sending the same messages. Both stacks must be running (`npm run stack:up`, and with
 * STACK_PROFILE=cluster). The machine's load average is recorded, because both share 2 cores.
 */
import { cpus, loadavg } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, type Config } from '../src/config.js';
import { ensureTopics } from '../src/kafka/topics.js';
import { ingestLoad, mutationBodies } from './lib/ingest-load.js';
import { freePort, startService } from './lib/processes.js';
import { benchToken, productionEnv } from './lib/production.js';
import { rawProducerRate } from './lib/raw-producer.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';

const run = mode();
const seconds = run === 'full' ? 15 : 8;
const rounds = run === 'full' ? 3 : 2;
const clients = 8;
const batch = 500;

interface Side {
  label: string;
  env: Record<string, string>;
  config: Config;
  kafka: Kafka;
  perSecond: number[];
  raw: number[];
  p50: number[];
  p99: number[];
}

const side = (label: string, profile: 'default' | 'cluster'): Side => {
  const env = { STACK_PROFILE: profile };
  const config = loadConfig({ ...process.env, ...env });
  const kafka = new Kafka({ clientId: 'bench-replication', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  return { label, env, config, kafka, perSecond: [], raw: [], p50: [], p99: [] };
};
const sides = [side('RF1', 'default'), side('RF3', 'cluster')];
const token = await benchToken();
const load1 = loadavg()[0]!;
const startedAt = new Date().toISOString();

/** One round on one side: a fresh topic, a gateway on it, raw kafkajs then the mutation. */
async function measure(s: Side): Promise<void> {
  const { replicationFactor, minInsyncReplicas, partitions } = s.config.kafka;
  const topic = `bench_replication_rf${replicationFactor}_${Date.now()}`;
  const admin = s.kafka.admin();
  await admin.connect();
  try {
    // Waits until every partition has a leader in the metadata, not only on the controller.
    await ensureTopics(admin, [{ topic, partitions, replicationFactor, minInsyncReplicas }]);
    const gateway = await startService({
      name: `gateway ${s.label}`,
      script: 'src/gateway/main.ts',
      port: await freePort(),
      env: { ...s.env, KAFKA_TOPIC: topic, ...productionEnv, LOG_LEVEL: 'warn' },
    });
    try {
      s.raw.push(await rawProducerRate(s.kafka, { topic, size: batch, seconds, clients }));
      const load = await ingestLoad({
        ports: [gateway.port],
        clients,
        seconds,
        bodies: mutationBodies(clients * 4, batch),
        headers: { authorization: `Bearer ${token}` },
      });
      s.perSecond.push(load.perSecond);
      s.p50.push(load.latencyMs.p50);
      s.p99.push(load.latencyMs.p99);
      console.log(
        `${s.label} (${s.config.kafka.brokers.length} brokers, RF ${replicationFactor}, min ISR ${minInsyncReplicas}): ` +
          `mutation ${Math.round(load.perSecond)}/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms; ` +
          `raw ${Math.round(s.raw.at(-1)!)}/s; load average ${loadavg()[0]!.toFixed(1)}`,
      );
    } finally {
      await gateway.stop();
    }
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

for (let r = 0; r < rounds; r += 1) {
  for (const s of sides) {
    // A new topic whose metadata has not reached every broker yet fails a round; it is run again once.
    await measure(s).catch(async (err: unknown) => {
      console.log(`${s.label}: round failed (${String(err)}); running it again`);
      await measure(s);
    });
  }
}

const [rf1, rf3] = sides as [Side, Side];
const load2 = loadavg()[0]!;
const figures: Figure[] = [rf1, rf3].map((s) => ({
  name: `replication: ingestReadings -> Kafka ack, ${s.config.kafka.brokers.length} broker(s), replication factor ${s.config.kafka.replicationFactor}, min.insync.replicas ${s.config.kafka.minInsyncReplicas}`,
  figure: round(median(s.perSecond), 0),
  unit: 'readings/s',
  baseline: round(median(s.raw), 0),
  baselineName: 'raw kafkajs producer, same messages and topic',
  ratio: round(median(s.perSecond) / median(s.raw)),
  better: 'higher',
  note: `${s.label}: mutation p50 ${round(median(s.p50))} ms, p99 ${round(median(s.p99))} ms (median of ${rounds} rounds; rounds ${s.perSecond.map((x) => Math.round(x)).join(', ')} readings/s)`,
}));
figures.push({
  name: 'replication: throughput at replication factor 3 against 1 (ingestReadings)',
  figure: round(median(rf3.perSecond) / median(rf1.perSecond)),
  unit: 'x',
  baseline: round(median(rf3.raw) / median(rf1.raw)),
  baselineName: 'the same ratio for raw kafkajs',
  better: 'higher',
});
figures.push({
  name: 'replication: mutation p99 at replication factor 3 against 1',
  figure: round(median(rf3.p99)),
  unit: 'ms',
  baseline: round(median(rf1.p99)),
  baselineName: 'p99 at replication factor 1',
  ratio: round(median(rf3.p99) / median(rf1.p99)),
  better: 'lower',
});
const file = writeResult({
  bench: 'replication',
  mode: run,
  figures,
  notes: [
    `${clients} clients x ${batch} readings per mutation, ${seconds} s per side and round, ${rounds} rounds alternating RF1 and RF3, medians; one gateway process per round in production mode`,
    `RF1: the default stack (one Kafka broker); RF3: the cluster profile (three brokers, all on this machine, so replication costs CPU and loopback, not network)`,
    `started ${startedAt}; load average (1 min) ${load1.toFixed(1)} at the start, ${load2.toFixed(1)} at the end, on ${cpus().length} cores shared with other work`,
  ],
});
console.log(JSON.stringify(figures, null, 2));
console.log(`wrote ${file}`);
