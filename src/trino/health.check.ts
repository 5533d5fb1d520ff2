/**
 * The question `health` asks Trino: is the coordinator up and done starting. Asked of its REST
 * API (`/v1/info`), not as a query: it answers while every query slot of the gateway is taken.
 */
import type { Config } from '../config.js';
import type { HealthCheck } from '../health/health.service.js';

export function trinoCheck(trino: Pick<Config['trino'], 'server'>): HealthCheck {
  return {
    name: 'trino',
    async check(signal) {
      const res = await fetch(`${trino.server}/v1/info`, { signal, headers: { 'x-trino-user': 'health' } });
      if (!res.ok) throw new Error(`/v1/info answered HTTP ${res.status}`);
      const info = (await res.json()) as { starting: boolean; nodeVersion?: { version?: string } };
      if (info.starting) throw new Error('Trino is still starting');
      return `Trino ${info.nodeVersion?.version ?? ''}`.trim();
    },
  };
}
