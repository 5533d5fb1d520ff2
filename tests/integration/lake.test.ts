/**
 * The lakehouse tier against the real Trino, its Iceberg catalog (in Postgres) and the S3
 * endpoint: backfill and tiering, then cohortStats and leaderboard answered from the lake's
 * rollups and the hot store together, checked against the same figures computed independently on
 * Postgres; late readings, duplicates and an erasure after tiering; a cycle cut short and repeated.
 *
 * Isolation: a Postgres schema of its own (its own `readings`, ledger and triggers, through
 * migrations run with that search path), seen by Trino as `timescale.<schema>`, and a lake schema
 * of its own. Nothing here touches the shared tables; both schemas are dropped at the end.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import type { BucketName } from '../../src/domain/metrics.js';
import { createLogger } from '../../src/logger.js';
import { createLakeReader, createTiererFor, type LakeTierer } from '../../src/lake/index.js';
import { migrate } from '../../src/timescale/migrations.js';
import type { LakeStore } from '../../src/timescale/lake.store.js';
import { createTrinoRunner } from '../../src/trino/trino.client.js';
import { createTrinoService, type CohortPoint, type TrinoService } from '../../src/trino/index.js';
import { uniqueId } from '../helpers/wait.js';
import { expectPercentileRank } from '../helpers/percentiles.js';

const base = loadConfig();
const suffix = uniqueId('x')
  .replace(/[^a-z0-9]/gi, '')
  .toLowerCase()
  .slice(-10);
const pgSchema = `lake_t_${suffix}`;
const lakeSchema = `t_${suffix}`;
const config: Config = {
  ...base,
  trino: { ...base.trino, schema: pgSchema, cacheTtlMs: 0 },
  lake: { ...base.lake, schema: lakeSchema, tierMaxHours: 24 },
};
const logger = createLogger({ ...base, logLevel: 'warn' }, 'lake-test');

const HOUR = 3_600_000;
// 2001-03-04 00:00 UTC .. 03:00: three hours of data; Berlin is UTC+1 then (whole hours).
const start = Date.UTC(2001, 2, 4);
const end = start + 3 * HOUR;
const USERS = 40;
const users = Array.from({ length: USERS }, (_, i) => `lake-user-${String(i).padStart(2, '0')}`);

/** Deterministic pseudo-random values, so a failure can be reproduced. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PG_INTERVAL: Record<BucketName, string> = {
  SECOND: '1 second',
  MINUTE: '1 minute',
  FIVE_MINUTES: '5 minutes',
  FIFTEEN_MINUTES: '15 minutes',
  HOUR: '1 hour',
  DAY: '1 day',
};

describe('lakehouse tier: tiering, federated aggregates, late data and erasure', () => {
  const pool = new pg.Pool({ connectionString: base.postgres.url, max: 4, options: `-c search_path=${pgSchema}` });
  const trinoStatements: string[] = [];
  let lakeService: TrinoService;
  let hotService: TrinoService;
  let tierer: LakeTierer;
  let store: LakeStore;
  let clock = end + 24 * HOUR;

  async function insert(rows: [string, string, number, number][]): Promise<number> {
    const r = await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT u, m, to_timestamp(t / 1000.0), v FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS x(u, m, t, v)
       ON CONFLICT DO NOTHING`,
      [rows.map((x) => x[0]), rows.map((x) => x[1]), rows.map((x) => x[2]), rows.map((x) => x[3])],
    );
    return r.rowCount ?? 0;
  }

  async function lakeScalar(sql: string): Promise<unknown> {
    const runner = createTrinoRunner({ ...base.trino, source: 'fitbit-test-lake', timeoutMs: 60_000 });
    return (await runner.run(sql)).rows[0]?.[0];
  }

  /** The same figures on Postgres, from the raw readings. */
  async function expected(metric: string, from: number, to: number, bucket: BucketName, zone = 'UTC') {
    const bucketSql =
      bucket === 'DAY' || bucket === 'HOUR'
        ? `date_trunc('${bucket.toLowerCase()}', time, '${zone}')`
        : `date_bin('${PG_INTERVAL[bucket]}'::interval, time, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
    const { rows } = await pool.query<{
      bucket: Date;
      users: number;
      n: number;
      avg: number;
      min: number;
      max: number;
      vals: number[];
    }>(
      `SELECT ${bucketSql} AS bucket,
              count(DISTINCT user_id)::int AS users, count(*)::int AS n, avg(value) AS avg, min(value) AS min,
              max(value) AS max, array_agg(value ORDER BY value) AS vals
         FROM readings WHERE metric = $1 AND time >= to_timestamp($2 / 1000.0) AND time < to_timestamp($3 / 1000.0)
        GROUP BY 1 ORDER BY 1`,
      [metric, from, to],
    );
    return rows;
  }

  function expectSame(points: readonly CohortPoint[], rows: Awaited<ReturnType<typeof expected>>): void {
    expect(points.map((p) => p.time.toISOString())).toEqual(rows.map((e) => e.bucket.toISOString()));
    points.forEach((p, i) => {
      const e = rows[i]!;
      expect({ users: p.users, count: p.count, min: p.min, max: p.max }).toEqual({
        users: e.users,
        count: e.n,
        min: e.min,
        max: e.max,
      });
      expect(p.avg).toBeCloseTo(e.avg, 9);
      for (const [q, v] of [
        [0.5, p.p50],
        [0.95, p.p95],
      ] as const) {
        // Rank error of the merged digests: within 1%, plus two readings' worth (a digest of a few
        // dozen values interpolates between neighbours).
        expectPercentileRank(e.vals, q, v, 0.01 + 2 / e.vals.length);
      }
    });
  }

  const lakeUsed = (): boolean => trinoStatements.includes('fitbit_cohort_stats_lake');

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${pgSchema}`);
    await migrate(pool);
    const rand = lcg(42);
    const rows: [string, string, number, number][] = [];
    users.forEach((user, u) => {
      for (let t = start; t < end; t += 30_000) {
        rows.push([user, 'heart_rate', t, Math.round((55 + u + rand() * 70) * 10) / 10]);
        if (t % 300_000 === 0) rows.push([user, 'steps', t, Math.floor(rand() * 100) + u]);
      }
    });
    for (let i = 0; i < rows.length; i += 20_000) await insert(rows.slice(i, i + 20_000));

    ({ tierer, store } = createTiererFor(config, logger, pool, { now: () => new Date(clock), settleMs: 0 }));
    const reader = createLakeReader(config, pool);
    lakeService = createTrinoService({
      config,
      source: 'fitbit-test-lake',
      lake: reader,
      onQuery: (statement) => trinoStatements.push(statement),
    });
    hotService = createTrinoService({ config, source: 'fitbit-test-lake-hot' });
    await lakeService.start();
    await hotService.start();
  }, 300_000);

  afterAll(async () => {
    await lakeScalar(`DROP TABLE IF EXISTS lake.${lakeSchema}.readings`).catch(() => undefined);
    await lakeScalar(`DROP TABLE IF EXISTS lake.${lakeSchema}.minute_rollups`).catch(() => undefined);
    await lakeScalar(`DROP TABLE IF EXISTS lake.${lakeSchema}.user_hour_rollups`).catch(() => undefined);
    await lakeScalar(`DROP TABLE IF EXISTS lake.${lakeSchema}.hour_rollups`).catch(() => undefined);
    await lakeScalar(`DROP SCHEMA IF EXISTS lake.${lakeSchema}`).catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
    await pool.end();
  });

  it('starts empty: the first cycle tiers nothing of the past, and aggregates read the hot store', async () => {
    const cycle = await tierer.runOnce();
    expect(cycle.ran).toBe(true);
    const ledger = await store.ledger();
    expect(ledger.lakeFrom?.getTime()).toBe(Math.floor((clock - base.lake.tierGraceMs) / HOUR) * HOUR);
    trinoStatements.length = 0;
    await lakeService.cohortStats('heart_rate', new Date(start), new Date(end), 'HOUR');
    expect(trinoStatements).toEqual(['fitbit_cohort_stats']);
  }, 120_000);

  it('backfill moves the history into the lake, readings and rollups', async () => {
    const done = await tierer.backfill(new Date(start));
    expect(done?.from.getTime()).toBe(start);
    expect((await store.ledger()).lakeFrom?.getTime()).toBe(start);
    expect(Number(await lakeScalar(`SELECT count(*) FROM lake.${lakeSchema}.readings`))).toBe(
      Number((await pool.query('SELECT count(*) FROM readings')).rows[0].count),
    );
    expect(
      Number(
        await lakeScalar(`SELECT sum(readings) FROM lake.${lakeSchema}.minute_rollups WHERE metric = 'heart_rate'`),
      ),
    ).toBe(USERS * 360);
  }, 300_000);

  describe.each<[BucketName, string]>([
    ['HOUR', 'UTC'],
    ['MINUTE', 'UTC'],
    ['FIFTEEN_MINUTES', 'UTC'],
    ['DAY', 'Europe/Berlin'],
  ])('cohortStats by %s (%s) from the lake', (bucket, zone) => {
    it('equals the aggregation of the raw readings on Postgres', async () => {
      // A range whose edges are not aligned: the edges come from the hot store, the middle from the lake.
      const from = start + 7 * 60_000 + 13_000;
      const to = end - 11 * 60_000;
      trinoStatements.length = 0;
      const points = await lakeService.cohortStats('heart_rate', new Date(from), new Date(to), bucket, {
        timeZone: zone,
      });
      expect(lakeUsed()).toBe(true);
      expectSame(points, await expected('heart_rate', from, to, bucket, zone));
    }, 120_000);
  });

  it('leaderboards from the lake equal the hot store (sum and average)', async () => {
    for (const metric of ['steps', 'heart_rate']) {
      trinoStatements.length = 0;
      const fromLake = await lakeService.leaderboard(metric, new Date(start), new Date(end), 10);
      expect(trinoStatements).toEqual(['fitbit_leaderboard_lake']);
      const fromHot = await hotService.leaderboard(metric, new Date(start), new Date(end), 10);
      expect(fromLake.map((e) => e.userId)).toEqual(fromHot.map((e) => e.userId));
      fromLake.forEach((e, i) => expect(e.value).toBeCloseTo(fromHot[i]!.value, 9));
    }
  }, 120_000);

  it('a late reading and duplicates: counted at once and once, then rewritten into the lake', async () => {
    const lateHour = start + HOUR;
    // New readings in a tiered hour, including a new user, and exact duplicates of stored ones.
    const added = await insert([
      ['lake-late-user', 'heart_rate', lateHour + 1_000, 199],
      [users[0]!, 'heart_rate', lateHour + 2_000, 31],
      [users[1]!, 'heart_rate', lateHour, 999], // duplicate identity: not stored
      [users[2]!, 'heart_rate', lateHour + 30_000, 999],
    ]);
    expect(added).toBe(2);
    const dirty = await pool.query('SELECT hour FROM lake_dirty_hours');
    expect(dirty.rows.map((r) => new Date(r.hour).getTime())).toEqual([lateHour]);

    const check = async () => {
      const points = await lakeService.cohortStats('heart_rate', new Date(start), new Date(end), 'HOUR');
      expectSame(points, await expected('heart_rate', start, end, 'HOUR'));
      expect(points[1]).toMatchObject({ users: USERS + 1, count: USERS * 120 + 2, min: 31, max: 199 });
    };
    await check(); // the dirty hour from the hot store
    const cycle = await tierer.runOnce();
    expect(cycle.rewrittenHours).toBe(1);
    expect((await pool.query('SELECT count(*)::int AS n FROM lake_dirty_hours')).rows[0].n).toBe(0);
    await check(); // the rewritten hour from the lake
    expect(
      Number(
        await lakeScalar(`SELECT sum(readings) FROM lake.${lakeSchema}.minute_rollups WHERE metric = 'heart_rate'`),
      ),
    ).toBe(USERS * 360 + 2);
  }, 180_000);

  it('an erasure removes the user from the answers at once and from the lake at the next cycle', async () => {
    const gone = users[5]!;
    await pool.query('DELETE FROM readings WHERE user_id = $1', [gone]);
    expect((await pool.query('SELECT count(*)::int AS n FROM lake_dirty_hours')).rows[0].n).toBe(3);
    const before = await lakeService.cohortStats('heart_rate', new Date(start), new Date(end), 'HOUR');
    expectSame(before, await expected('heart_rate', start, end, 'HOUR'));
    await tierer.runOnce();
    expect(Number(await lakeScalar(`SELECT count(*) FROM lake.${lakeSchema}.readings WHERE user_id = '${gone}'`))).toBe(
      0,
    );
    expect(
      Number(await lakeScalar(`SELECT count(*) FROM lake.${lakeSchema}.user_hour_rollups WHERE user_id = '${gone}'`)),
    ).toBe(0);
    trinoStatements.length = 0;
    const after = await lakeService.cohortStats('heart_rate', new Date(start), new Date(end), 'HOUR');
    expect(lakeUsed()).toBe(true);
    expectSame(after, await expected('heart_rate', start, end, 'HOUR'));
    expect(after.every((p) => p.users === (p === after[1] ? USERS : USERS - 1))).toBe(true);
  }, 180_000);

  it('advances hour by hour as time passes; a cycle cut short after widening is finished by the next', async () => {
    const ledger = await store.ledger();
    const until = ledger.tieredUntil!.getTime();
    // New data in the two hours after the tiered range, then the clock moves past them.
    await insert(users.slice(0, 3).map((u, i) => [u, 'heart_rate', until + i * 60_000, 70 + i]));
    await insert([[users[0]!, 'heart_rate', until + HOUR + 5_000, 90]]);
    // A crash after widening: the ledger says "copying" but nothing was copied or published.
    await store.widen({ tieringUntil: new Date(until + HOUR) });
    clock = until + 2 * HOUR + base.lake.tierGraceMs + 1;
    const cycle = await tierer.runOnce();
    expect(cycle.advancedHours).toBe(2);
    expect((await store.ledger()).tieredUntil?.getTime()).toBe(until + 2 * HOUR);
    expect(
      Number(
        await lakeScalar(
          `SELECT count(*) FROM lake.${lakeSchema}.readings WHERE "time" >= from_unixtime(${until / 1000})`,
        ),
      ),
    ).toBe(4);
    trinoStatements.length = 0;
    const points = await lakeService.cohortStats('heart_rate', new Date(until), new Date(until + 2 * HOUR), 'HOUR');
    expect(lakeUsed()).toBe(true);
    expect(points.map((p) => p.count)).toEqual([3, 1]);
  }, 180_000);
});
