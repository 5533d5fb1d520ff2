/** The question `health` asks Flink: a JobManager with at least one TaskManager, and the job's state. */
import type { Config } from '../config.js';
import type { HealthCheck } from '../health/health.service.js';

async function getJson<T>(url: string, signal: AbortSignal): Promise<T> {
  const res = await fetch(url, { signal });
  if (!res.ok) throw new Error(`${new URL(url).pathname} answered HTTP ${res.status}`);
  return (await res.json()) as T;
}

export function flinkCheck(
  config: Pick<Config, 'flink'>,
  jobState?: (signal: AbortSignal) => Promise<string>,
): HealthCheck {
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
