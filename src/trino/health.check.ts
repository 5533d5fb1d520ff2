/** The question `health` asks Trino: the coordinator's `/v1/info` (up, not still starting). */
import type { Config } from '../config.js';
import type { HealthCheck } from '../health/health.service.js';

export function trinoCheck(config: Pick<Config['trino'], 'server'>): HealthCheck {
  return {
    name: 'trino',
    async check(signal) {
      const res = await fetch(`${config.server}/v1/info`, { signal, headers: { 'x-trino-user': 'health' } });
      if (!res.ok) throw new Error(`/v1/info answered HTTP ${res.status}`);
      const info = (await res.json()) as { starting: boolean; nodeVersion?: { version?: string } };
      if (info.starting) throw new Error('Trino is still starting');
      return `Trino ${info.nodeVersion?.version ?? ''}`.trim();
    },
  };
}
