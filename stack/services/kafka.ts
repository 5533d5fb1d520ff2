/**
 * Kafka 3.9 in KRaft combined mode (broker and controller in one JVM), on loopback.
 * Storage is formatted on the first start; the topics of docs/contracts.md are created after every start
 * (creating an existing topic is a no-op).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { fetchWithMaven } from '../lib/maven.js';
import { marker, runningPid, spawnDetached, stopProcess } from '../lib/process.js';
import type { ServiceDefinition, StackContext } from '../lib/service.js';
import { javaBin } from '../lib/java.js';

const NAME = 'kafka';

function dirs(ctx: StackContext) {
  const dist = join(ctx.paths.dist, NAME);
  const home = join(ctx.paths.data, NAME);
  return { dist, home, conf: join(home, 'conf'), logDirs: join(home, 'kraft-logs') };
}

function brokerAddress(ctx: StackContext): { host: string; port: number } {
  const first = ctx.config.kafka.brokers[0] ?? '127.0.0.1:9092';
  const [host = '127.0.0.1', port = '9092'] = first.split(':');
  return { host, port: Number(port) };
}

function writeConfig(ctx: StackContext): string {
  const d = dirs(ctx);
  const { host, port } = brokerAddress(ctx);
  const controllerPort = ctx.config.kafka.controllerPort;
  mkdirSync(d.conf, { recursive: true });
  const props = join(d.conf, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${host}:${controllerPort}`,
      `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${host}:${port}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${d.logDirs}`,
      `num.partitions=${ctx.config.kafka.partitions}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=6',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'min.insync.replicas=1',
      'default.replication.factor=1',
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

function jvmArgs(ctx: StackContext): string[] {
  const d = dirs(ctx);
  return [
    '-Xms512m',
    '-Xmx1g',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(d.conf, 'log4j.properties')}`,
    `-Dkafka.logs.dir=${join(d.home, 'app-logs')}`,
    '-cp',
    `${join(d.dist, 'lib')}/*`,
  ];
}

function formatStorage(ctx: StackContext, props: string): void {
  const d = dirs(ctx);
  if (existsSync(join(d.logDirs, 'meta.properties'))) return;
  const java = javaBin(ctx.config.stack.javaHome);
  const uuid = spawnSync(java, [...jvmArgs(ctx), 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' });
  const clusterId = uuid.stdout.trim().split('\n').pop();
  if (uuid.status !== 0 || !clusterId) throw new Error(`kafka storage random-uuid failed: ${uuid.stderr}`);
  const fmt = spawnSync(
    java,
    [...jvmArgs(ctx), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '-g'],
    {
      encoding: 'utf8',
    },
  );
  if (fmt.status !== 0) throw new Error(`kafka storage format failed: ${fmt.stdout}${fmt.stderr}`);
  ctx.log(`kafka: formatted storage (cluster ${clusterId})`);
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
  startTimeoutMs: 300_000,
  processes: () => [NAME],
  async fetch(ctx) {
    await fetchWithMaven(join(ctx.repoDir, 'stack', 'kafka', 'pom.xml'), dirs(ctx).dist, ctx.log);
  },
  async start(ctx) {
    if (runningPid(ctx.paths, NAME) !== undefined) return;
    const props = writeConfig(ctx);
    formatStorage(ctx, props);
    spawnDetached(ctx.paths, {
      name: NAME,
      command: javaBin(ctx.config.stack.javaHome),
      args: [marker(NAME), ...jvmArgs(ctx), 'kafka.Kafka', props],
    });
  },
  async probe(ctx) {
    const a = admin(ctx);
    try {
      await a.connect();
      const cluster = await a.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },
  async afterStart(ctx) {
    const a = admin(ctx);
    const { topics, partitions } = ctx.config.kafka;
    try {
      await a.connect();
      const existing = new Set(await a.listTopics());
      const wanted = [topics.ingestion, topics.dlq, topics.processed, topics.alerts].filter((t) => !existing.has(t));
      if (wanted.length > 0) {
        await a.createTopics({
          waitForLeaders: true,
          topics: wanted.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
        });
        ctx.log(`kafka: created topics ${wanted.join(', ')} (${partitions} partitions each)`);
      }
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },
  endpoints(ctx) {
    const { host, port } = brokerAddress(ctx);
    return { broker: `${host}:${port}`, controller: `${host}:${ctx.config.kafka.controllerPort}` };
  },
  async stop(ctx) {
    // The broker flushes and deregisters on SIGTERM; give it time before SIGKILL.
    await stopProcess(ctx.paths, NAME, 30_000);
  },
};
