/** The question `health` asks Postgres: its server version, through the pool the reads use. */
import type pg from 'pg';
import type { HealthCheck } from '../health/health.service.js';

export function postgresCheck(pool: pg.Pool): HealthCheck {
  return {
    name: 'postgres',
    async check() {
      const { rows } = await pool.query<{ version: string }>("SELECT current_setting('server_version') AS version");
      return `PostgreSQL ${rows[0]?.version ?? '?'}`;
    },
  };
}
