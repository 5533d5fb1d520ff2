/**
 * Kafka 3.9 in KRaft combined mode (broker and controller in one JVM per node), on loopback: one
 * node in the default profile, one per broker address in the cluster profile (three, a controller
 * quorum of three, topics with three replicas of which two must hold a write).
 * Storage is formatted on the first start; the topics of docs/contracts.md are created after every start
 * (creating an existing topic is a no-op).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../src/kafka/topics.js';
import { fetchWithMaven } from '../lib/maven.js';
import { marker, runningPid, spawnDetached, stopProcess } from '../lib/process.js';
import type { ServiceDefinition, StackContext } from '../lib/service.js';
import { javaBin } from '../lib/java.js';

const NAME = 'kafka';

/** One KRaft node: broker and controller in one JVM. */
export interface KafkaNode {
  id: number;
  /** Process name: `kafka` when the stack runs one node (the default profile), `kafka-<id>` otherwise. */
  name: string;
  host: string;
  port: number;
  controllerPort: number;
  home: string;
  conf: string;
  logDirs: string;
}

/**
 * The nodes of the stack's Kafka, one per broker address of the configuration. Broker i's controller
 * listens at the first controller port plus the offset of its broker port from the first broker's,
 * so `19092,19192,19292` with controller port 19093 gives controllers on 19093, 19193 and 19293.
 */
export function kafkaNodes(ctx: StackContext): KafkaNode[] {
  const addresses = ctx.config.kafka.brokers.map((b) => {
    const [host = '127.0.0.1', port = '9092'] = b.split(':');
    return { host, port: Number(port) };
  });
  const firstPort = addresses[0]?.port ?? 9092;
  const single = addresses.length === 1;
  return addresses.map(({ host, port }, i) => {
    const id = i + 1;
    const name = single ? NAME : `${NAME}-${id}`;
    // A single node keeps the folder layout it always had, so an existing stack keeps its data.
    const home = single ? join(ctx.paths.data, NAME) : join(ctx.paths.data, NAME, `node-${id}`);
    return {
      id,
      name,
      host,
      port,
      controllerPort: ctx.config.kafka.controllerPort + (port - firstPort),
      home,
      conf: join(home, 'conf'),
      logDirs: join(home, 'kraft-logs'),
    };
  });
}

const dist = (ctx: StackContext): string => join(ctx.paths.dist, NAME);

function writeConfig(ctx: StackContext, node: KafkaNode, nodes: KafkaNode[]): string {
  const { replicationFactor, minInsyncReplicas, partitions } = ctx.config.kafka;
  // Kafka's internal topics follow the project's topics, but never ask for more copies than there are brokers.
  const internalRf = Math.min(replicationFactor, nodes.length);
  const internalIsr = Math.min(minInsyncReplicas, internalRf);
  mkdirSync(node.conf, { recursive: true });
  const props = join(node.conf, 'server.properties');
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
      `log.dirs=${node.logDirs}`,
      `num.partitions=${partitions}`,
      `offsets.topic.replication.factor=${internalRf}`,
      'offsets.topic.num.partitions=6',
      `transaction.state.log.replication.factor=${internalRf}`,
      `transaction.state.log.min.isr=${internalIsr}`,
      `min.insync.replicas=${minInsyncReplicas}`,
      `default.replication.factor=${replicationFactor}`,
      // Never elect a replica that missed acknowledged writes: losing availability beats losing data.
      'unclean.leader.election.enable=false',
      // A dead or frozen broker leaves the ISR (and its leaderships move) within seconds, not the
      // defaults' 30 s and 9 s, so an acks=all write stalls for at most about that long.
      'replica.lag.time.max.ms=10000',
      'broker.session.timeout.ms=6000',
      'broker.heartbeat.interval.ms=1000',
      // Tests start and stop consumer groups often; no reason to wait for more members here.
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'log.retention.hours=24',
      'log.segment.bytes=268435456',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(node.conf, 'log4j.properties'),
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
  return [
    // Three brokers share the machine with everything else in the cluster profile.
    ...(clustered ? ['-Xms256m', '-Xmx512m'] : ['-Xms512m', '-Xmx1g']),
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(node.conf, 'log4j.properties')}`,
    `-Dkafka.logs.dir=${join(node.home, 'app-logs')}`,
    '-cp',
    `${join(dist(ctx), 'lib')}/*`,
  ];
}

/**
 * The KRaft cluster id, made once and kept beside the nodes: every node's storage must be
 * formatted with the same one or the controllers refuse to form a quorum.
 */
function clusterId(ctx: StackContext, node: KafkaNode): string {
  const file = join(ctx.paths.data, NAME, 'cluster-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const java = javaBin(ctx.config.stack.javaHome);
  const uuid = spawnSync(java, [...jvmArgs(ctx, node, false), 'kafka.tools.StorageTool', 'random-uuid'], {
    encoding: 'utf8',
  });
  const id = uuid.stdout.trim().split('\n').pop();
  if (uuid.status !== 0 || !id) throw new Error(`kafka storage random-uuid failed: ${uuid.stderr}`);
  mkdirSync(join(ctx.paths.data, NAME), { recursive: true });
  writeFileSync(file, id);
  return id;
}

function formatStorage(ctx: StackContext, node: KafkaNode, props: string, clustered: boolean): void {
  if (existsSync(join(node.logDirs, 'meta.properties'))) return;
  const id = clusterId(ctx, node);
  const fmt = spawnSync(
    javaBin(ctx.config.stack.javaHome),
    [...jvmArgs(ctx, node, clustered), 'kafka.tools.StorageTool', 'format', '-t', id, '-c', props, '-g'],
    { encoding: 'utf8' },
  );
  if (fmt.status !== 0) throw new Error(`kafka storage format failed: ${fmt.stdout}${fmt.stderr}`);
  ctx.log(`${node.name}: formatted storage (cluster ${id})`);
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

/** Starts one node unless it runs; the fault tests use it to bring back a node they killed. */
export function startKafkaNode(ctx: StackContext, node: KafkaNode): void {
  if (runningPid(ctx.paths, node.name) !== undefined) return;
  const nodes = kafkaNodes(ctx);
  const clustered = nodes.length > 1;
  const props = writeConfig(ctx, node, nodes);
  formatStorage(ctx, node, props, clustered);
  spawnDetached(ctx.paths, {
    name: node.name,
    command: javaBin(ctx.config.stack.javaHome),
    args: [marker(node.name), ...jvmArgs(ctx, node, clustered), 'kafka.Kafka', props],
  });
}

export const kafka: ServiceDefinition = {
  name: NAME,
  startTimeoutMs: 300_000,
  processes: (ctx) => kafkaNodes(ctx).map((n) => n.name),
  async fetch(ctx) {
    await fetchWithMaven(join(ctx.repoDir, 'stack', 'kafka', 'pom.xml'), dist(ctx), ctx.log);
  },
  async start(ctx) {
    // The controllers wait for each other to form a quorum, so all nodes start together.
    for (const node of kafkaNodes(ctx)) startKafkaNode(ctx, node);
  },
  async probe(ctx) {
    const a = admin(ctx);
    try {
      await a.connect();
      const cluster = await a.describeCluster();
      const wanted = kafkaNodes(ctx).length;
      if (cluster.brokers.length < wanted) {
        throw new Error(`${cluster.brokers.length} of ${wanted} brokers registered yet`);
      }
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },
  async afterStart(ctx) {
    const a = admin(ctx);
    const { topics, partitions, replicationFactor, minInsyncReplicas } = ctx.config.kafka;
    try {
      await a.connect();
      const existing = new Set(await a.listTopics());
      const all = [topics.ingestion, topics.dlq, topics.processed, topics.alerts];
      const wanted = all.filter((t) => !existing.has(t));
      if (wanted.length === 0) return;
      await ensureTopics(
        a,
        wanted.map((topic) => ({ topic, partitions, replicationFactor, minInsyncReplicas })),
      );
      ctx.log(
        `kafka: created topics ${wanted.join(', ')} (${partitions} partitions, ${replicationFactor} replicas, min ISR ${minInsyncReplicas})`,
      );
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },
  endpoints(ctx) {
    const nodes = kafkaNodes(ctx);
    return {
      [nodes.length > 1 ? 'brokers' : 'broker']: nodes.map((n) => `${n.host}:${n.port}`).join(','),
      [nodes.length > 1 ? 'controllers' : 'controller']: nodes.map((n) => `${n.host}:${n.controllerPort}`).join(','),
    };
  },
  async stop(ctx) {
    // Each broker flushes and deregisters on SIGTERM; give it time before SIGKILL. Together, so that
    // the last ones do not wait on a quorum that the first ones already left.
    await Promise.all(kafkaNodes(ctx).map((n) => stopProcess(ctx.paths, n.name, 30_000)));
  },
};
