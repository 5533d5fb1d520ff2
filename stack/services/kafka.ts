/**
 * Kafka 3.9 in KRaft combined mode (broker and controller in one JVM), on loopback: one node, or
 * in the cluster profile one node per address of KAFKA_BROKER, all of them voters of the controller
 * quorum. Storage is formatted on the first start; the pipeline's topics (docs/contracts.md) are created after every
 * start (creating an existing topic is a no-op).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { fetchWithMaven } from '../lib/maven.js';
import { marker, runningPid, spawnDetached, stopProcess } from '../lib/process.js';
import type { ServiceDefinition, StackContext } from '../lib/service.js';
import { javaBin } from '../lib/java.js';

const NAME = 'kafka';

/** One KRaft node: broker and controller in one JVM. A cluster has one per address in KAFKA_BROKER. */
export interface KafkaNode {
  id: number;
  /** Process name: `kafka` alone, `kafka-1`, `kafka-2`... in a cluster. */
  name: string;
  host: string;
  port: number;
  controllerPort: number;
}

export function kafkaNodes(config: StackContext['config']): KafkaNode[] {
  const brokers = config.kafka.brokers;
  return brokers.map((b, i) => {
    const [host = '127.0.0.1', port = '9092'] = b.split(':');
    return {
      id: i + 1,
      name: brokers.length === 1 ? NAME : `${NAME}-${i + 1}`,
      host,
      port: Number(port),
      controllerPort: config.kafka.controllerPort + i,
    };
  });
}

function dirs(ctx: StackContext, node: KafkaNode) {
  const dist = join(ctx.paths.dist, NAME);
  const home = join(ctx.paths.data, node.name);
  return { dist, home, conf: join(home, 'conf'), logDirs: join(home, 'kraft-logs') };
}

/**
 * A cluster's settings: copies and acknowledgements from the configuration, and a follower dropped
 * from the in-sync set after 10 s without catching up (default 30 s), which is how long acks=all
 * writes wait on a paused broker. The controller fences a silent broker after the default 9 s.
 */
function replicationSettings(ctx: StackContext, nodes: KafkaNode[]): string[] {
  const rf = Math.min(ctx.config.kafka.replicationFactor, nodes.length);
  const minIsr = Math.min(ctx.config.kafka.minInsyncReplicas, rf);
  const common = [
    `offsets.topic.replication.factor=${rf}`,
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `min.insync.replicas=${minIsr}`,
    `default.replication.factor=${rf}`,
  ];
  if (nodes.length === 1) return common;
  return [
    ...common,
    // Raft elections: with the 1 s / 2 s defaults three controllers starved of CPU (two cores,
    // many JVMs) vote in circles; a few seconds still elects a leader promptly.
    'controller.quorum.election.timeout.ms=5000',
    'controller.quorum.fetch.timeout.ms=15000',
    // A node that cannot register within the default 60 s (a slow start beside other JVMs) exits.
    'initial.broker.registration.timeout.ms=300000',
    'replica.lag.time.max.ms=10000',
    'unclean.leader.election.enable=false',
    // Loopback replication on two shared cores: fewer threads than the defaults (3 network, 8 io).
    'num.network.threads=2',
    'num.io.threads=4',
  ];
}

function writeConfig(ctx: StackContext, node: KafkaNode, nodes: KafkaNode[]): string {
  const d = dirs(ctx, node);
  mkdirSync(d.conf, { recursive: true });
  const props = join(d.conf, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      `node.id=${node.id}`,
      `controller.quorum.voters=${nodes.map((n) => `${n.id}@${n.host}:${n.controllerPort}`).join(',')}`,
      `listeners=PLAINTEXT://${node.host}:${node.port},CONTROLLER://${node.host}:${node.controllerPort}`,
      `advertised.listeners=PLAINTEXT://${node.host}:${node.port}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${d.logDirs}`,
      `num.partitions=${ctx.config.kafka.partitions}`,
      'offsets.topic.num.partitions=6',
      ...replicationSettings(ctx, nodes),
      // Tests start and stop consumer groups often; no reason to wait for more members here.
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'log.retention.hours=24',
      'log.segment.bytes=268435456',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(d.conf, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      'log4j.logger.org.apache.kafka=INFO',
      'log4j.logger.kafka.request.logger=WARN',
      '',
    ].join('\n'),
  );
  return props;
}

function jvmArgs(ctx: StackContext, node: KafkaNode, clustered: boolean): string[] {
  const d = dirs(ctx, node);
  return [
    // Three brokers share the machine with everything else: half the heap each.
    ...(clustered ? ['-Xms256m', '-Xmx512m'] : ['-Xms512m', '-Xmx1g']),
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(d.conf, 'log4j.properties')}`,
    `-Dkafka.logs.dir=${join(d.home, 'app-logs')}`,
    '-cp',
    `${join(d.dist, 'lib')}/*`,
  ];
}

const CLUSTER_ID = /^cluster\.id=(.+)$/m;

/** Formats every node's storage that is not formatted yet, all with the same cluster id. */
function formatStorage(ctx: StackContext, nodes: KafkaNode[], props: Map<string, string>): void {
  const meta = (n: KafkaNode) => join(dirs(ctx, n).logDirs, 'meta.properties');
  const missing = nodes.filter((n) => !existsSync(meta(n)));
  if (missing.length === 0) return;
  const java = javaBin(ctx.config.stack.javaHome);
  const clustered = nodes.length > 1;
  const formatted = nodes.find((n) => existsSync(meta(n)));
  let clusterId = formatted ? CLUSTER_ID.exec(readFileSync(meta(formatted), 'utf8'))?.[1]?.trim() : undefined;
  if (!clusterId) {
    const uuid = spawnSync(java, [...jvmArgs(ctx, nodes[0]!, clustered), 'kafka.tools.StorageTool', 'random-uuid'], {
      encoding: 'utf8',
    });
    clusterId = uuid.stdout.trim().split('\n').pop();
    if (uuid.status !== 0 || !clusterId) throw new Error(`kafka storage random-uuid failed: ${uuid.stderr}`);
  }
  for (const n of missing) {
    const fmt = spawnSync(
      java,
      [
        ...jvmArgs(ctx, n, clustered),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        props.get(n.name)!,
        '-g',
      ],
      { encoding: 'utf8' },
    );
    if (fmt.status !== 0) throw new Error(`kafka storage format failed for ${n.name}: ${fmt.stdout}${fmt.stderr}`);
  }
  ctx.log(`kafka: formatted storage of ${missing.map((n) => n.name).join(', ')} (cluster ${clusterId})`);
}

/** Copies and acknowledgements for a topic this stack or a test creates: all brokers' worth, up to the configured factor. */
export function topicReplication(config: StackContext['config']): {
  replicationFactor: number;
  configEntries: { name: string; value: string }[];
} {
  const rf = Math.min(config.kafka.replicationFactor, config.kafka.brokers.length);
  const minIsr = Math.min(config.kafka.minInsyncReplicas, rf);
  return { replicationFactor: rf, configEntries: [{ name: 'min.insync.replicas', value: String(minIsr) }] };
}

function admin(ctx: StackContext) {
  return new Kafka({
    clientId: 'fitbit-stack',
    brokers: ctx.config.kafka.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  }).admin();
}

export const kafka: ServiceDefinition = {
  name: NAME,
  startTimeoutMs: 90_000,
  processes: (ctx) => kafkaNodes(ctx.config).map((n) => n.name),
  async fetch(ctx) {
    await fetchWithMaven(join(ctx.repoDir, 'stack', 'kafka', 'pom.xml'), join(ctx.paths.dist, NAME), ctx.log);
  },
  async start(ctx) {
    const nodes = kafkaNodes(ctx.config);
    const props = new Map(nodes.map((n) => [n.name, writeConfig(ctx, n, nodes)]));
    formatStorage(ctx, nodes, props);
    for (const n of nodes) {
      if (runningPid(ctx.paths, n.name) !== undefined) continue;
      spawnDetached(ctx.paths, {
        name: n.name,
        command: javaBin(ctx.config.stack.javaHome),
        args: [marker(n.name), ...jvmArgs(ctx, n, nodes.length > 1), 'kafka.Kafka', props.get(n.name)!],
      });
    }
  },
  async probe(ctx) {
    const a = admin(ctx);
    const expected = ctx.config.kafka.brokers.length;
    try {
      await a.connect();
      const cluster = await a.describeCluster();
      // A cluster is ready when every broker has registered, so that topics get all their copies.
      if (cluster.brokers.length < expected) {
        throw new Error(`${cluster.brokers.length} of ${expected} brokers registered`);
      }
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },
  async afterStart(ctx) {
    const a = admin(ctx);
    const { topics, partitions } = ctx.config.kafka;
    const replication = topicReplication(ctx.config);
    try {
      await a.connect();
      const existing = new Set(await a.listTopics());
      const wanted = [topics.ingestion, topics.dlq, topics.processed, topics.alerts].filter((t) => !existing.has(t));
      if (wanted.length > 0) {
        await a.createTopics({
          waitForLeaders: true,
          topics: wanted.map((topic) => ({ topic, numPartitions: partitions, ...replication })),
        });
        ctx.log(
          `kafka: created topics ${wanted.join(', ')} (${partitions} partitions each, ` +
            `replication factor ${replication.replicationFactor})`,
        );
      }
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },
  endpoints(ctx) {
    const nodes = kafkaNodes(ctx.config);
    return {
      broker: nodes.map((n) => `${n.host}:${n.port}`).join(','),
      controller: nodes.map((n) => `${n.host}:${n.controllerPort}`).join(','),
    };
  },
  async stop(ctx) {
    // The broker flushes and deregisters on SIGTERM; give it time before SIGKILL. In a cluster
    // all nodes are told at once, so that no survivor waits for partitions to move to it.
    await Promise.all(kafkaNodes(ctx.config).map((n) => stopProcess(ctx.paths, n.name, 30_000)));
  },
};
