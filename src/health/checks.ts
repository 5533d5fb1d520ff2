/**
 * The real questions `health` asks each service. The checks that speak a driver live with their
 * adapter (src/kafka, src/timescale, src/flink); Trino's, over its REST API, is here.
 */
import type { Config } from '../config.js';
import type { HealthCheck } from './health.service.js';

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
