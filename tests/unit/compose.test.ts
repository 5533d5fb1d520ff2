/**
 * compose.yml cannot run on machines without Docker; this keeps it honest against stack/: the same
 * services in the cluster profile's shape, the same ports as the local stack's defaults, and only
 * files that exist in the repo.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import type { StackContext } from '../../stack/lib/service.js';
import { services as stackServices } from '../../stack/services/index.js';

interface ComposeService {
  image?: string;
  profiles?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, unknown>;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  volumes?: string[];
  command?: string | string[];
}
const compose = parse(readFileSync('compose.yml', 'utf8')) as { services: Record<string, ComposeService> };
const names = Object.keys(compose.services);

/** Which compose services stand for each local stack service (its cluster profile's processes). */
const counterpart: Record<string, string[]> = {
  postgres: ['timescaledb'],
  kafka: ['kafka-1', 'kafka-2', 'kafka-3', 'kafka-init'],
  flink: ['flink-jobmanager', 'flink-taskmanager-1', 'flink-taskmanager-2', 'flink-sql-gateway', 'flink-job'],
  trino: ['trino', 'trino-worker'],
};

/** The cluster profile as stack/ sees it; listing its processes touches no folder. */
const none = '/nonexistent';
const cluster: StackContext = {
  config: loadConfig({ STACK_PROFILE: 'cluster' }),
  paths: { root: none, run: none, logs: none, dist: none, data: none },
  repoDir: process.cwd(),
  log: () => undefined,
};

describe('compose.yml', () => {
  it('has a counterpart for every service stack/ starts, plus Kafka UI, the gateway and the worker', () => {
    for (const s of stackServices) {
      expect(counterpart[s.name], `no compose mapping for stack service ${s.name}`).toBeDefined();
      for (const c of counterpart[s.name]!) expect(names).toContain(c);
    }
    expect(names).toEqual(expect.arrayContaining(['kafka-ui', 'gateway', 'consumer', 'prometheus']));
  });

  it('runs as many brokers, TaskManagers and Trino nodes as the cluster profile', () => {
    const processes = (name: string) => stackServices.find((s) => s.name === name)!.processes(cluster);
    expect(names.filter((n) => /^kafka-\d+$/.test(n))).toHaveLength(processes('kafka').length);
    expect(names.filter((n) => n.startsWith('flink-taskmanager'))).toHaveLength(
      processes('flink').filter((p) => p.startsWith('flink-taskmanager')).length,
    );
    expect(names.filter((n) => n.startsWith('trino'))).toHaveLength(processes('trino').length);
    const initScript = String((compose.services['kafka-init']?.command as string[] | undefined)?.[0]);
    expect(initScript).toContain(`--replication-factor ${cluster.config.kafka.replicationFactor}`);
    expect(initScript).toContain(`min.insync.replicas=${cluster.config.kafka.minInsyncReplicas}`);
    expect(compose.services['kafka-1']?.environment?.KAFKA_MIN_INSYNC_REPLICAS).toBe(
      cluster.config.kafka.minInsyncReplicas,
    );
    const coordinator = readFileSync('docker/trino/coordinator.properties', 'utf8');
    expect(coordinator).toMatch(/^node-scheduler\.include-coordinator=false$/m);
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

  it('runs the maintained Kafka UI (kafbat) against the brokers, after the topics exist', () => {
    const ui = compose.services['kafka-ui']!;
    expect(ui.image).toMatch(/^ghcr\.io\/kafbat\/kafka-ui:/);
    expect(ui.environment?.['KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS']).toBe('kafka-1:19092,kafka-2:19092,kafka-3:19092');
    expect(Object.keys(ui.depends_on ?? {})).toContain('kafka-init');
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
