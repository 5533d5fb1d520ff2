/**
 * `STACK_PROFILE=cluster npm run bench -- replication [--full]`: what durability costs. On the
 * cluster profile (three brokers), readings per second through the `ingestReadings` mutation onto
 * two scratch topics with the same partition count: replication factor 3 with
 * `min.insync.replicas=2` (an acknowledgement means two brokers have it), and replication factor 1
 * (one copy, the default stack's durability) as the same-run baseline. The two sides alternate,
 * three rounds each, so that a slow moment of the shared machine hits both; the figure is the
 * median round. Each side has its own gateway process in production mode, as in bench/ingest.
 */
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { ingestLoad, mutationBodies } from './lib/ingest-load.js';
import { freePort, startService, type ServiceProcess } from './lib/processes.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { benchToken, productionEnv } from './lib/production.js';

const config = loadConfig();
if (config.kafka.brokers.length < 3) {
  console.error('bench replication needs the cluster profile: STACK_PROFILE=cluster npm run bench -- replication');
  process.exit(2);
}
const run = mode();
const seconds = run === 'full' ? 15 : 6;
const rounds = 3;
const clients = 8;
const batch = 500;
const partitions = config.kafka.partitions;

const kafka = new Kafka({ clientId: 'bench-replication', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const topics: string[] = [];

async function scratchTopic(replicationFactor: number): Promise<string> {
  const topic = `bench_replication_rf${replicationFactor}_${Date.now()}`;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: partitions,
        replicationFactor,
        configEntries: [{ name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) }],
      },
    ],
  });
  topics.push(topic);
  return topic;
}

async function gatewayOn(topic: string): Promise<ServiceProcess> {
  return startService({
    name: 'gateway',
    script: 'src/gateway/main.ts',
    port: await freePort(),
    env: { KAFKA_TOPIC: topic, ...productionEnv, LOG_LEVEL: 'warn' },
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const token = await benchToken();
const headers = { authorization: `Bearer ${token}` };
await admin.connect();
const gateways: ServiceProcess[] = [];
try {
  const sides = [
    { rf: 3, topic: await scratchTopic(3) },
    { rf: 1, topic: await scratchTopic(1) },
  ];
  const gw = new Map<number, ServiceProcess>();
  for (const s of sides) {
    const g = await gatewayOn(s.topic);
    gateways.push(g);
    gw.set(s.rf, g);
  }
  const results = new Map<number, { perSecond: number; p50: number; p99: number }[]>([
    [3, []],
    [1, []],
  ]);
  for (let r = 0; r < rounds; r += 1) {
    for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
      const load = await ingestLoad({
        ports: [gw.get(s.rf)!.port],
        clients,
        seconds,
        bodies: mutationBodies(clients * 4, batch),
        headers,
      });
      results.get(s.rf)!.push({ perSecond: load.perSecond, p50: load.latencyMs.p50, p99: load.latencyMs.p99 });
      console.log(
        `round ${r + 1}, RF ${s.rf}: ${Math.round(load.perSecond)} readings/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms`,
      );
    }
  }
  const rf3 = median(results.get(3)!.map((x) => x.perSecond));
  const rf1 = median(results.get(1)!.map((x) => x.perSecond));
  const p99 = (rf: number) => median(results.get(rf)!.map((x) => x.p99));
  const figures: Figure[] = [
    {
      name: `replication: ingestReadings -> Kafka ack, replication factor 3 (min.insync.replicas 2) on 3 brokers (${clients} clients x ${batch} readings)`,
      figure: round(rf3, 0),
      unit: 'readings/s',
      baseline: round(rf1, 0),
      baselineName: 'replication factor 1 on the same 3-broker cluster, same run',
      ratio: round(rf3 / rf1),
      better: 'higher',
      note: `median of ${rounds} alternating rounds of ${seconds} s; mutation p99 ${p99(3)} ms (RF 3) vs ${p99(1)} ms (RF 1); ${partitions} partitions`,
    },
  ];
  const file = writeResult({
    bench: 'replication',
    mode: run,
    figures,
    notes: [
      'cluster profile (STACK_PROFILE=cluster): three KRaft brokers on loopback sharing the 2 cores with the gateways and the load generator',
      `per round and side: ${results.get(3)!.length} rounds; RF 3 ${results
        .get(3)!
        .map((x) => Math.round(x.perSecond))
        .join(', ')}; RF 1 ${results
        .get(1)!
        .map((x) => Math.round(x.perSecond))
        .join(', ')} readings/s`,
    ],
  });
  console.log(JSON.stringify(figures, null, 2));
  console.log(`wrote ${file}`);
} finally {
  for (const g of gateways) await g.stop();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}
