/**
 * compose.yml cannot run on machines without Docker; this keeps it honest against stack/: the same
 * services, the same ports as the local stack's defaults, only files that exist in the repo, and
 * the cluster shape (three KRaft brokers at replication factor 3 with min.insync.replicas 2, two
 * Flink TaskManagers whose slots fit the job's parallelism, a Trino coordinator that schedules no
 * work on itself plus a worker).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { services as stackServices } from '../../stack/services/index.js';

interface ComposeService {
  image?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  volumes?: string[];
  command?: string | string[];
}
// `merge`: the brokers, TaskManagers and app services share their settings through `<<:` keys.
const compose = parse(readFileSync('compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const names = Object.keys(compose.services);

const BROKER_NAMES = ['kafka-1', 'kafka-2', 'kafka-3'];
/** How the containers reach the brokers. */
const BROKERS = BROKER_NAMES.map((b) => `${b}:9092`).join(',');
const TASKMANAGERS = ['flink-taskmanager-1', 'flink-taskmanager-2'];

const env = (svc: string): Record<string, string> =>
  Object.fromEntries(Object.entries(compose.services[svc]?.environment ?? {}).map(([k, v]) => [k, String(v)]));

/** `key: value` lines of a FLINK_PROPERTIES block. */
function flinkProperties(svc: string): Record<string, string> {
  const text = env(svc)['FLINK_PROPERTIES'] ?? '';
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

/** A Java properties file the repository mounts into a container. */
function properties(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
  );
}

/** The repository file mounted at `target` in `svc`. */
function mounted(svc: string, target: string): string | undefined {
  const v = (compose.services[svc]?.volumes ?? []).find((m) => m.split(':')[1] === target);
  return v?.split(':')[0];
}

/** Which compose services stand for each local stack service. */
const counterpart: Record<string, string[]> = {
  postgres: ['timescaledb'],
  kafka: ['kafka-1', 'kafka-2', 'kafka-3', 'kafka-init'],
  flink: ['flink-jobmanager', 'flink-taskmanager-1', 'flink-taskmanager-2', 'flink-sql-gateway', 'flink-job'],
  trino: ['trino', 'trino-worker'],
  s3: ['minio', 'minio-init'],
};

describe('compose.yml', () => {
  it('has a counterpart for every service stack/ starts, plus Kafka UI, the gateway and the worker', () => {
    for (const s of stackServices) {
      expect(counterpart[s.name], `no compose mapping for stack service ${s.name}`).toBeDefined();
      for (const c of counterpart[s.name]!) expect(names).toContain(c);
    }
    expect(names).toEqual(expect.arrayContaining(['kafka-ui', 'gateway', 'consumer', 'prometheus']));
  });

  it('publishes the same ports as the local stack defaults', () => {
    const c = loadConfig({});
    const published = (svc: string) => (compose.services[svc]?.ports ?? []).map((p) => Number(p.split(':')[0]));
    expect(published('kafka-1')).toContain(Number(c.kafka.brokers[0]!.split(':')[1]));
    expect(published('trino')).toContain(c.trino.port);
    expect(published('flink-jobmanager')).toContain(Number(new URL(c.flink.restUrl).port));
    expect(published('flink-sql-gateway')).toContain(Number(new URL(c.flink.sqlGatewayUrl).port));
    expect(published('gateway')).toContain(c.gateway.port);
    expect(published('timescaledb')).toContain(5432);
    expect(published('minio')).toContain(Number(new URL(c.lake.s3.endpoint).port));
  });

  it('refers only to files and folders that exist in the repository', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build) expect(existsSync(svc.build.dockerfile), `${name}: ${svc.build.dockerfile}`).toBe(true);
      for (const v of svc.volumes ?? []) {
        const host = v.split(':')[0]!;
        if (host.startsWith('./')) expect(existsSync(host), `${name}: ${host}`).toBe(true);
      }
      const cmd = Array.isArray(svc.command) ? svc.command : [];
      for (const part of cmd) if (/^src\/.*\.ts$/.test(part)) expect(existsSync(part), `${name}: ${part}`).toBe(true);
    }
  });

  it('gives Trino the catalog files the local stack uses', () => {
    expect(compose.services.trino?.volumes).toContain('./trino/catalog:/etc/trino/catalog:ro');
    expect(existsSync('trino/catalog/timescale.properties')).toBe(true);
    expect(existsSync('trino/catalog/kafka.properties')).toBe(true);
  });

  it('runs the maintained Kafka UI (kafbat) against all brokers, after the topics exist', () => {
    const ui = compose.services['kafka-ui']!;
    expect(ui.image).toMatch(/^ghcr\.io\/kafbat\/kafka-ui:/);
    expect(ui.environment?.['KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS']).toBe(BROKERS);
    expect(Object.keys(ui.depends_on ?? {})).toContain('kafka-init');
  });

  it('runs three KRaft brokers that are also the three controllers of one cluster', () => {
    const envs = BROKER_NAMES.map(env);
    expect(envs.map((e) => e['KAFKA_NODE_ID'])).toEqual(['1', '2', '3']);
    for (const [i, e] of envs.entries()) {
      expect(e['KAFKA_PROCESS_ROLES']?.split(',').sort()).toEqual(['broker', 'controller']);
      expect(e['KAFKA_CONTROLLER_QUORUM_VOTERS']).toBe(BROKER_NAMES.map((b, n) => `${n + 1}@${b}:9093`).join(','));
      expect(e['KAFKA_ADVERTISED_LISTENERS']).toContain(`PLAINTEXT://${BROKER_NAMES[i]}:9092`);
      expect(compose.services[BROKER_NAMES[i]!]?.image).toMatch(/^apache\/kafka:/);
    }
    expect(new Set(envs.map((e) => e['CLUSTER_ID'])).size).toBe(1);
    expect(envs[0]!['CLUSTER_ID']).toBeTruthy();
    // Each broker is reachable from the host on its own port, advertised as such.
    const hostPorts = BROKER_NAMES.map((b) => compose.services[b]!.ports![0]!.split(':')[0]);
    expect(new Set(hostPorts).size).toBe(3);
    envs.forEach((e, i) => expect(e['KAFKA_ADVERTISED_LISTENERS']).toContain(`EXTERNAL://localhost:${hostPorts[i]}`));
  });

  it('keeps every topic, internal ones included, at replication factor 3 with min.insync.replicas 2', () => {
    for (const e of BROKER_NAMES.map(env)) {
      expect(e).toMatchObject({
        KAFKA_DEFAULT_REPLICATION_FACTOR: '3',
        KAFKA_MIN_INSYNC_REPLICAS: '2',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '3',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '3',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '2',
        KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE: 'false',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      });
    }
    const c = loadConfig({});
    const init = (compose.services['kafka-init']!.command as string[]).join(' ');
    for (const topic of Object.values(c.kafka.topics)) expect(init).toContain(topic);
    expect(init).toContain(`--partitions ${c.kafka.partitions}`);
    expect(init).toContain('--replication-factor 3');
    expect(init).toContain('--config min.insync.replicas=2');
    expect(init).toContain(`--bootstrap-server ${BROKERS}`);
    expect(Object.keys(compose.services['kafka-init']!.depends_on ?? {})).toEqual(BROKER_NAMES);
  });

  it('points every Kafka client at all three brokers', () => {
    for (const svc of ['gateway', 'consumer', 'flink-job']) {
      expect(env(svc)['KAFKA_BROKER'], svc).toBe(BROKERS);
      expect(Object.keys(compose.services[svc]!.depends_on ?? {})).toContain('kafka-init');
    }
    expect(env('trino')['TRINO_KAFKA_NODES']).toBe(BROKERS);
  });

  it('runs two TaskManagers whose slots fit the job, one subtask per partition, sharing checkpoints', () => {
    const c = loadConfig({});
    const parallelism = Number(env('flink-job')['FLINK_PARALLELISM']);
    expect(parallelism).toBe(c.kafka.partitions);
    const slots = TASKMANAGERS.map((tm) => Number(flinkProperties(tm)['taskmanager.numberOfTaskSlots']));
    expect(slots.reduce((a, b) => a + b, 0)).toBe(parallelism);
    // Either TaskManager alone can take the other's tasks back only if they share the checkpoint files.
    const dir = flinkProperties('flink-jobmanager')['state.checkpoints.dir'];
    expect(dir).toMatch(/^file:\/\//);
    for (const svc of ['flink-jobmanager', ...TASKMANAGERS]) {
      expect(flinkProperties(svc)['state.checkpoints.dir'], svc).toBe(dir);
      const volume = (compose.services[svc]!.volumes ?? []).find((v) => `file://${v.split(':')[1]}` === dir);
      expect(volume, `${svc} mounts ${dir}`).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(volume!.split(':')[0]);
    }
    expect(flinkProperties('flink-jobmanager')['jobmanager.execution.failover-strategy']).toBe('region');
    expect(Object.keys(compose.services['flink-job']!.depends_on ?? {})).toEqual(expect.arrayContaining(TASKMANAGERS));
  });

  it('runs a Trino coordinator that schedules no work on itself, and a worker with the same catalogs', () => {
    const coordinatorFile = mounted('trino', '/etc/trino/config.properties');
    const workerFile = mounted('trino-worker', '/etc/trino/config.properties');
    expect(coordinatorFile).toBeDefined();
    expect(workerFile).toBeDefined();
    const coordinator = properties(coordinatorFile!);
    const worker = properties(workerFile!);
    expect(coordinator).toMatchObject({ coordinator: 'true', 'node-scheduler.include-coordinator': 'false' });
    expect(worker['coordinator']).toBe('false');
    expect(worker['discovery.uri']).toBe(`http://trino:${coordinator['http-server.http.port']}`);
    expect(compose.services['trino-worker']?.image).toBe(compose.services['trino']?.image);
    expect(env('trino-worker')).toEqual(env('trino'));
    for (const target of ['/etc/trino/catalog', '/etc/trino/kafka'])
      expect(mounted('trino-worker', target)).toBe(mounted('trino', target));
  });

  it('runs the device simulator only with the demo profile, against the gateway', () => {
    const demo = compose.services['demo']!;
    expect(demo.profiles).toEqual(['demo']);
    const cmd = demo.command as string[];
    expect(cmd).toContain('src/demo/main.ts');
    expect(cmd[cmd.indexOf('--url') + 1]).toBe('http://gateway:4000/graphql');
    for (const [name, svc] of Object.entries(compose.services))
      if (name !== 'demo') expect(svc.profiles, `${name} runs without a profile`).toBeUndefined();
  });
});
