/**
 * The lake is an accelerator, the hot store the truth: with the object store stopped (the stack's
 * own S3 endpoint, started again in afterAll whatever happens) or the ledger unreadable,
 * `cohortStats` and `leaderboard` over a tiered range still answer, from the hot store, with the
 * same figures; the tierer's cycle fails and is retried, and once the store is back the lake
 * answers again.
 *
 * Isolation as in tests/integration/lake.test.ts: a Postgres schema and a lake schema of its own.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createLakeReader, createTiererFor, type LakeTierer } from '../../src/lake/index.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createTrinoRunner } from '../../src/trino/trino.client.js';
import { createTrinoService, type TrinoService } from '../../src/trino/index.js';
import { s3 as s3Service } from '../../stack/services/s3.js';
import { faultStackContext, restore } from '../helpers/faults.js';
import { uniqueId } from '../helpers/wait.js';

const base = loadConfig();
const suffix = uniqueId('x')
  .replace(/[^a-z0-9]/gi, '')
  .toLowerCase()
  .slice(-10);
const pgSchema = `lake_f_${suffix}`;
const lakeSchema = `f_${suffix}`;
const config: Config = {
  ...base,
  trino: { ...base.trino, schema: pgSchema, cacheTtlMs: 0 },
  lake: { ...base.lake, schema: lakeSchema },
};
const HOUR = 3_600_000;
const start = Date.UTC(1998, 6, 1);
const end = start + 2 * HOUR;

describe('lake down', () => {
  const ctx = faultStackContext();
  const pool = new pg.Pool({ connectionString: base.postgres.url, max: 4, options: `-c search_path=${pgSchema}` });
  const statements: string[] = [];
  let service: TrinoService;
  let tierer: LakeTierer;
  const runner = createTrinoRunner({ ...base.trino, source: 'fitbit-test-lake-down', timeoutMs: 60_000 });
  const range = [new Date(start), new Date(end)] as const;

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${pgSchema}`);
    await migrate(pool);
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT 'down-' || u, 'steps', to_timestamp($1 / 1000.0) + s * INTERVAL '1 minute', u * 10 + s % 7
         FROM generate_series(1, 5) u, generate_series(0, 119) s`,
      [start],
    );
    ({ tierer } = createTiererFor(config, createLogger({ ...base, logLevel: 'silent' }, 'lake-down'), pool, {
      now: () => new Date(end + 24 * HOUR),
      settleMs: 0,
    }));
    await tierer.runOnce();
    await tierer.backfill(new Date(start));
    // A late reading in the second hour, rewritten into the lake: that hour's new rollup files are
    // written and never read before the outage (backfill's compaction read the others, and Trino
    // keeps small files it has read in memory).
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value) VALUES ('down-8', 'steps', to_timestamp($1 / 1000.0), 1)`,
      [start + HOUR + 30_000],
    );
    expect((await tierer.runOnce()).rewrittenHours).toBe(1);
    service = createTrinoService({
      config,
      source: 'fitbit-test-lake-down',
      lake: createLakeReader(config, pool),
      onQuery: (statement, _ms, outcome) => statements.push(`${statement}:${outcome}`),
    });
    await service.start();
  }, 300_000);

  afterAll(async () => {
    await restore(ctx, s3Service);
    await service?.stop();
    for (const t of ['readings', 'minute_rollups', 'user_hour_rollups', 'hour_rollups'])
      await runner.run(`DROP TABLE IF EXISTS lake.${lakeSchema}.${t}`).catch(() => undefined);
    await runner.run(`DROP SCHEMA IF EXISTS lake.${lakeSchema}`).catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
    await pool.end();
  }, 120_000);

  it('answers the same figures from the hot store while the object store is down; the tierer retries', async () => {
    await s3Service.stop!(ctx);
    statements.length = 0;
    const during = await service.cohortStats('steps', ...range, 'HOUR');
    expect(statements[0]).toMatch(/^fitbit_cohort_stats_lake:TRINO_/);
    expect(statements.at(-1)).toBe('fitbit_cohort_stats:ok');
    expect(during.map((p) => [p.count, p.users])).toEqual([
      [300, 5],
      [301, 6],
    ]);
    const { rows } = await pool.query(
      `SELECT user_id, sum(value) AS value FROM readings GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3`,
    );
    expect((await service.leaderboard('steps', ...range, 3)).map((e) => [e.userId, e.value])).toEqual(
      rows.map((r) => [r.user_id, r.value]),
    );
    // A late reading while the store is down: counted at once (its hour is dirty, read hot), and
    // the tierer's rewrite fails until the store is back.
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value) VALUES ('down-9', 'steps', to_timestamp($1 / 1000.0), 1)`,
      [start + 30_000],
    );
    await expect(tierer.runOnce()).rejects.toThrow();
    expect((await service.cohortStats('steps', ...range, 'HOUR'))[0]!.count).toBe(301);
  }, 180_000);

  it('answers from the hot store when the ledger cannot be read', async () => {
    const broken = createTrinoService({
      config,
      source: 'fitbit-test-lake-down',
      lake: { ...createLakeReader(config, pool), view: () => Promise.reject(new Error('connection terminated')) },
      onQuery: (statement) => statements.push(statement),
    });
    await broken.start();
    statements.length = 0;
    const points = await broken.cohortStats('steps', ...range, 'HOUR');
    expect(statements).toEqual(['fitbit_cohort_stats']);
    expect(points.map((p) => p.count)).toEqual([301, 301]);
    await broken.stop();
  }, 60_000);

  it('rewrites the late hour and answers from the lake again once the store is back', async () => {
    await restore(ctx, s3Service);
    const cycle = await tierer.runOnce();
    expect(cycle.rewrittenHours).toBe(1);
    statements.length = 0;
    const points = await service.cohortStats('steps', ...range, 'HOUR');
    expect(statements).toEqual(['fitbit_cohort_stats_lake:ok']);
    expect(points.map((p) => p.count)).toEqual([301, 301]);
  }, 180_000);
});
