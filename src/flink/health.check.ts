/** The question `health` asks Flink: the JobManager's overview, and the job's state when asked for. */
import type { Config } from '../config.js';
import type { HealthCheck } from '../health/health.service.js';

export function flinkCheck(
  config: Pick<Config['flink'], 'restUrl' | 'jobName'>,
  jobState?: (signal: AbortSignal) => Promise<string>,
): HealthCheck {
  return {
    name: 'flink',
    async check(signal) {
      const res = await fetch(`${config.restUrl}/overview`, { signal });
      if (!res.ok) throw new Error(`/overview answered HTTP ${res.status}`);
      const o = (await res.json()) as { taskmanagers: number; 'slots-available': number; 'flink-version': string };
      if (o.taskmanagers < 1) throw new Error('JobManager has no TaskManager');
      const job = jobState ? `; job ${config.jobName}: ${await jobState(signal)}` : '';
      return `Flink ${o['flink-version']}, ${o.taskmanagers} TaskManager(s)${job}`;
    },
  };
}
