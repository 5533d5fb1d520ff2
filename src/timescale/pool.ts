/**
 * The pg pool for TimescaleDB/Postgres. Only src/timescale imports pg; other folders name the pool
 * and its query shapes through the types below.
 */
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { pgTypes } from './timestamptz.js';

export type Pool = pg.Pool;
/** Whatever can run one statement: the pool, or a client checked out of it. */
export type Queryable = Pick<pg.Pool, 'query'>;
export type QueryConfig = pg.QueryConfig;

export function createPool(
  postgres: Config['postgres'],
  logger: Logger,
  opts: { max?: number; applicationName?: string } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: postgres.url,
    max: opts.max ?? postgres.poolMax,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'fitbit-gateway',
    types: pgTypes,
    // Postgres JIT compiled plans for 0.5-0.9 s inside single range queries over `readings`: a
    // pool serving interactive reads and batched writes never gains that back.
    options: '-c jit=off',
  });
  // An idle client that loses its connection emits here; without a listener it would crash the process.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'));
  return pool;
}
