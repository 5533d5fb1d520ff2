/**
 * compose.yml cannot run on machines without Docker; this keeps it honest against stack/: the same
 * services, the same ports as the local stack's defaults, and only files that exist in the repo.
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
const compose = parse(readFileSync('compose.yml', 'utf8')) as { services: Record<string, ComposeService> };
const names = Object.keys(compose.services);

/** Which compose services stand for each local stack service. */
const counterpart: Record<string, string[]> = {
  postgres: ['timescaledb'],
  kafka: ['kafka', 'kafka-init'],
  flink: ['flink-jobmanager', 'flink-taskmanager', 'flink-sql-gateway', 'flink-job'],
  trino: ['trino'],
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
    expect(published('kafka')).toContain(Number(c.kafka.brokers[0]!.split(':')[1]));
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

  it('runs the maintained Kafka UI (kafbat) against the broker, after the topics exist', () => {
    const ui = compose.services['kafka-ui']!;
    expect(ui.image).toMatch(/^ghcr\.io\/kafbat\/kafka-ui:/);
    expect(ui.environment?.['KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS']).toBe('kafka:9092');
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
