/** The real questions `health` asks each service. */
import type { Kafka, Admin } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { HealthCheck } from './health.service.js';

export function postgresCheck(pool: pg.Pool): HealthCheck {
  return {
    name: 'postgres',
    async check() {
      const { rows } = await pool.query<{ version: string }>("SELECT current_setting('server_version') AS version");
      return `PostgreSQL ${rows[0]?.version ?? '?'}`;
    },
  };
}

export function kafkaCheck(kafka: Kafka): HealthCheck & { stop(): Promise<void> } {
  let admin: Admin | undefined;
  return {
    name: 'kafka',
    async check() {
      // One admin connection, reused across checks; dropped and rebuilt after a failure.
      try {
        if (!admin) {
          admin = kafka.admin({ retry: { retries: 0 } });
          await admin.connect();
        }
        const cluster = await admin.describeCluster();
        return `${cluster.brokers.length} broker(s), controller ${cluster.controller ?? 'none'}`;
      } catch (err) {
        const stale = admin;
        admin = undefined;
        await stale?.disconnect().catch(() => undefined);
        throw err;
      }
    },
    async stop() {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}

async function getJson<T>(url: string, signal: AbortSignal): Promise<T> {
  const res = await fetch(url, { signal, headers: { 'x-trino-user': 'health' } });
  if (!res.ok) throw new Error(`${new URL(url).pathname} answered HTTP ${res.status}`);
  return (await res.json()) as T;
}

export function trinoCheck(config: Config): HealthCheck {
  return {
    name: 'trino',
    async check(signal) {
      const info = await getJson<{ starting: boolean; nodeVersion?: { version?: string } }>(
        `${config.trino.server}/v1/info`,
        signal,
      );
      if (info.starting) throw new Error('Trino is still starting');
      return `Trino ${info.nodeVersion?.version ?? ''}`.trim();
    },
  };
}

export function flinkCheck(config: Config, jobState?: (signal: AbortSignal) => Promise<string>): HealthCheck {
  return {
    name: 'flink',
    async check(signal) {
      const o = await getJson<{ taskmanagers: number; 'slots-available': number; 'flink-version': string }>(
        `${config.flink.restUrl}/overview`,
        signal,
      );
      if (o.taskmanagers < 1) throw new Error('JobManager has no TaskManager');
      const job = jobState ? `; job ${config.flink.jobName}: ${await jobState(signal)}` : '';
      return `Flink ${o['flink-version']}, ${o.taskmanagers} TaskManager(s)${job}`;
    },
  };
}
