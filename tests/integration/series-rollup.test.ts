/**
 * The per-minute rollup against real Postgres: after batched inserts with duplicates (ON CONFLICT
 * DO NOTHING), a COPY, deletes and updates, `readings_minute` equals the per-minute aggregation of
 * `readings`, and `series` / `seriesForUsers` (rollup plus raw edges) equal an independent raw
 * aggregation for aligned and unaligned ranges at every bucket width. Writers racing on the same
 * minutes leave it exact too. A scratch database checks the migration's backfill and TRUNCATE.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { BUCKETS, type BucketName } from '../../src/domain/metrics.js';
import { MIGRATIONS_DIR, migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
import { createSeriesService, type SeriesPoint, type SeriesService } from '../../src/timescale/series.service.js';
import { seriesSource } from '../../src/timescale/series.sql.js';
import { uniqueId } from '../helpers/wait.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const logger = createLogger(config, 'series-rollup-test');
const DAY0 = Date.parse('2024-03-05T00:00:00.000Z');
const SPAN = 2 * 86_400_000;
const at = (ms: number) => new Date(ms).toISOString();

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

interface Row {
  user: string;
  metric: string;
  /** RFC 3339, possibly with microseconds. */
  time: string;
  value: number;
}

async function insert(db: pg.Pool | pg.PoolClient, rows: Row[]): Promise<number> {
  const res = await db.query(
    `INSERT INTO readings (user_id, metric, time, value)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[]) ON CONFLICT DO NOTHING`,
    [rows.map((r) => r.user), rows.map((r) => r.metric), rows.map((r) => r.time), rows.map((r) => r.value)],
  );
  return res.rowCount ?? 0;
}

async function copy(pool: pg.Pool, rows: Row[]): Promise<void> {
  const client = await pool.connect();
  try {
    await pipeline(
      Readable.from([rows.map((r) => `${r.user},${r.metric},${r.time},${r.value}\n`).join('')]),
      client.query(copyFrom('COPY readings (user_id, metric, time, value) FROM STDIN WITH (FORMAT csv)')),
    );
  } finally {
    client.release();
  }
}

interface Agg {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Rollup rows and the per-minute aggregation of readings that disagree, for some users. */
async function rollupMismatches(db: pg.Pool, users: string[]): Promise<unknown[]> {
  const { rows } = await db.query(
    `WITH raw AS (
       SELECT user_id, metric, to_timestamp(floor(extract(epoch FROM time) / 60) * 60) AS minute,
              count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max
       FROM readings WHERE user_id = ANY($1) GROUP BY 1, 2, 3
     ),
     roll AS (SELECT * FROM readings_minute WHERE user_id = ANY($1))
     SELECT raw.*, roll.count AS r_count, roll.sum AS r_sum, roll.min AS r_min, roll.max AS r_max,
            roll.user_id AS r_user, roll.minute AS r_minute
     FROM raw FULL JOIN roll USING (user_id, metric, minute)
     WHERE raw.count IS DISTINCT FROM roll.count OR raw.min IS DISTINCT FROM roll.min
        OR raw.max IS DISTINCT FROM roll.max OR abs(raw.sum - roll.sum) > 1e-6 * greatest(1, abs(raw.sum))
     LIMIT 5`,
    [users],
  );
  return rows;
}

describe('series from the per-minute rollup', () => {
  let pool: pg.Pool;
  let series: SeriesService;
  const a = uniqueId('rollup-a');
  const b = uniqueId('rollup-b');
  const empty = uniqueId('rollup-none');
  const racer = uniqueId('rollup-race');
  const users = [a, b, empty, racer];

  /** The same aggregation over raw readings, formulated independently: floor(epoch seconds / width). */
  async function expected(userId: string, from: string, to: string, bucket: BucketName): Promise<SeriesPoint[]> {
    const width = BUCKETS[bucket] / 1000;
    const { rows } = await pool.query<Agg & { b: string; avg: number }>(
      `SELECT (floor(extract(epoch FROM time) / $4) * $4)::bigint AS b,
              count(*)::int AS count, avg(value) AS avg, min(value) AS min, max(value) AS max, sum(value) AS sum
       FROM readings WHERE user_id = $1 AND metric = 'heart_rate' AND time >= $2 AND time < $3
       GROUP BY 1 ORDER BY 1`,
      [userId, from, to, width],
    );
    return rows.map((r) => ({
      time: new Date(Number(r.b) * 1000),
      count: r.count,
      avg: r.avg,
      min: r.min,
      max: r.max,
      sum: r.sum,
      filled: false,
    }));
  }

  function expectSame(got: SeriesPoint[], want: SeriesPoint[], label: string): void {
    expect(
      got.map((p) => [p.time.toISOString(), p.count]),
      label,
    ).toEqual(want.map((p) => [p.time.toISOString(), p.count]));
    got.forEach((p, i) => {
      const w = want[i]!;
      expect(p.min, label).toBe(w.min);
      expect(p.max, label).toBe(w.max);
      // The rollup adds partial sums in another order than one pass over the readings.
      expect(p.sum, label).toBeCloseTo(w.sum, 6);
      expect(p.avg, label).toBeCloseTo(w.avg, 9);
    });
  }

  beforeAll(async () => {
    pool = createPool(config.postgres, logger, { max: 6, applicationName: 'fitbit-test' });
    await migrate(pool);
    series = createSeriesService(pool, config, logger);
    const rnd = lcg(7);
    const value = () => Math.round((40 + rnd() * 140) * 100) / 100;

    // 1. A batch of random readings (whole milliseconds) of two users, plus noise of another metric.
    const first: Row[] = [];
    for (let i = 0; i < 4000; i += 1) {
      const user = i % 3 === 0 ? b : a;
      first.push({ user, metric: 'heart_rate', time: at(DAY0 + Math.floor(rnd() * SPAN)), value: value() });
    }
    for (let i = 0; i < 300; i += 1)
      first.push({ user: a, metric: 'steps', time: at(DAY0 + Math.floor(rnd() * SPAN)), value: 1000 });
    // Minute boundaries to the microsecond, and a minute holding one reading only (before the span).
    first.push(
      { user: a, metric: 'heart_rate', time: '2024-03-04T23:59:59.999999Z', value: 40 },
      { user: a, metric: 'heart_rate', time: '2024-03-05T10:14:59.999999Z', value: 41 },
      { user: a, metric: 'heart_rate', time: '2024-03-05T10:15:00.000000Z', value: 179 },
      { user: a, metric: 'heart_rate', time: '2024-03-05T10:15:00.000001Z', value: 42 },
      { user: a, metric: 'heart_rate', time: '2024-03-05T10:15:30.250000Z', value: 43 },
      { user: a, metric: 'heart_rate', time: '2024-03-05T10:15:30.249999Z', value: 44 },
      { user: b, metric: 'heart_rate', time: '2024-03-06T23:59:59.999999Z', value: 45 },
      { user: b, metric: 'heart_rate', time: '2024-03-07T00:00:00.000000Z', value: 46 }, // outside the data span
    );
    await insert(pool, first);

    // 2. Replays with other values (ON CONFLICT DO NOTHING skips them: they must not count) mixed
    //    with new readings (at .5 ms, never a whole millisecond of the first batch).
    const replays = first.slice(0, 800).map((r) => ({ ...r, value: 250 }));
    const fresh: Row[] = [];
    for (let i = 0; i < 400; i += 1) {
      fresh.push({
        user: i % 2 ? a : b,
        metric: 'heart_rate',
        time: at(DAY0 + Math.floor(rnd() * SPAN)).replace('Z', '500Z'),
        value: value(),
      });
    }
    const stored = await insert(pool, [...replays, ...fresh]);
    expect(stored).toBe(new Set(fresh.map((r) => r.user + r.time)).size);

    // 3. COPY (the benchmarks' seeding path), at .777 ms.
    const copied: Row[] = [];
    for (let i = 0; i < 2000; i += 1) {
      copied.push({
        user: i % 2 ? a : b,
        metric: 'heart_rate',
        time: at(DAY0 + Math.floor(rnd() * SPAN)).replace('Z', '777Z'),
        value: value(),
      });
    }
    await copy(pool, [...new Map(copied.map((r) => [r.user + r.time, r])).values()]);

    // 4. Deletes: scattered readings, a whole hour of one user, the one-reading minute's reading.
    await pool.query(`DELETE FROM readings WHERE user_id = $1 AND metric = 'heart_rate' AND value > 160`, [a]);
    await pool.query(
      `DELETE FROM readings WHERE user_id = $1 AND time >= '2024-03-05T13:00:00Z' AND time < '2024-03-05T14:00:00Z'`,
      [b],
    );
    await pool.query(`DELETE FROM readings WHERE user_id = $1 AND time = '2024-03-04T23:59:59.999999Z'`, [a]);

    // 5. Updates: values changed in place, and readings moved to other minutes (and to the other user).
    await pool.query(
      `UPDATE readings SET value = value / 2 WHERE user_id = $1 AND time >= '2024-03-05T06:00:00Z' AND time < '2024-03-05T07:00:00Z'`,
      [a],
    );
    await pool.query(
      `UPDATE readings SET time = time + INTERVAL '47 seconds 3 microseconds', user_id = $2
       WHERE user_id = $1 AND time >= '2024-03-06T02:00:00Z' AND time < '2024-03-06T02:20:00Z'`,
      [b, a],
    );
  });

  afterAll(async () => {
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    await pool?.end();
  });

  it('keeps readings_minute equal to the per-minute aggregation of readings', async () => {
    expect(await rollupMismatches(pool, [a, b])).toEqual([]);
    // Minutes whose readings were all deleted leave no row behind.
    const { rows } = await pool.query<{ user_id: string; n: number }>(
      `SELECT user_id, count(*)::int AS n FROM readings_minute
       WHERE (user_id = $1 AND minute = '2024-03-04T23:59:00Z')
          OR (user_id = $2 AND minute >= '2024-03-05T13:00:00Z' AND minute < '2024-03-05T14:00:00Z')
       GROUP BY user_id`,
      [a, b],
    );
    expect(rows).toEqual([]);
  });

  const ranges: [string, string, string][] = [
    ['aligned, the whole span', '2024-03-05T00:00:00.000Z', '2024-03-07T00:00:00.000Z'],
    ['unaligned at both ends', '2024-03-05T10:15:30.250Z', '2024-03-06T13:47:12.999Z'],
    ['unaligned from, aligned to', '2024-03-05T03:07:59.999Z', '2024-03-06T20:00:00.000Z'],
    ['aligned from, unaligned to', '2024-03-05T10:15:00.000Z', '2024-03-06T23:59:59.999Z'],
    ['inside one minute', '2024-03-05T10:15:00.001Z', '2024-03-05T10:15:59.999Z'],
    ['across one minute boundary', '2024-03-05T10:14:30.000Z', '2024-03-05T10:15:30.250Z'],
    ['around a deleted hour', '2024-03-05T12:59:59.500Z', '2024-03-05T14:00:00.500Z'],
  ];
  const buckets: BucketName[] = ['MINUTE', 'FIVE_MINUTES', 'FIFTEEN_MINUTES', 'HOUR', 'DAY'];

  it.each(buckets)('at %s buckets equals the raw aggregation, aligned or not', async (bucket) => {
    expect(seriesSource(bucket)).toBe('rollup');
    for (const [label, from, to] of ranges) {
      const args = { metric: 'heart_rate' as const, from: new Date(from), to: new Date(to), bucket };
      for (const user of [a, b]) {
        const want = await expected(user, from, to, bucket);
        expectSame(await series.series(user, args), want, `${bucket} ${label} ${user}`);
      }
      const many = await series.seriesForUsers([a, b, empty, a], args);
      expectSame(many.get(a)!, await expected(a, from, to, bucket), `${bucket} ${label} many`);
      expectSame(many.get(b)!, await expected(b, from, to, bucket), `${bucket} ${label} many`);
      expect(many.get(empty)).toEqual([]);
    }
  });

  it('at SECOND buckets still reads the raw readings, with the same answers', async () => {
    expect(seriesSource('SECOND')).toBe('raw');
    const from = '2024-03-05T10:00:00.123Z';
    const to = '2024-03-05T12:30:00.000Z';
    const args = { metric: 'heart_rate' as const, from: new Date(from), to: new Date(to), bucket: 'SECOND' as const };
    expectSame(await series.series(a, args), await expected(a, from, to, 'SECOND'), 'SECOND');
  });

  it('stays exact when writers race on the same minutes', async () => {
    const minuteMs = Date.parse('2024-03-05T08:00:00Z');
    const writer = async (seed: number): Promise<void> => {
      const rnd = lcg(seed);
      const client = await pool.connect();
      try {
        for (let round = 0; round < 25; round += 1) {
          const byTime = new Map<number, Row>();
          for (let i = 0; i < 40; i += 1) {
            // Five minutes, whole seconds: the writers collide on readings and on minutes.
            const t = minuteMs + Math.floor(rnd() * 300) * 1000;
            byTime.set(t, { user: racer, metric: 'heart_rate', time: at(t), value: Math.round(rnd() * 1000) / 10 });
          }
          // In time order: two batches inserting the same readings in opposite orders would
          // deadlock on the readings primary key itself, rollup or not.
          await insert(
            client,
            [...byTime.entries()].sort((x, y) => x[0] - y[0]).map(([, r]) => r),
          );
          if (round % 3 === seed % 3) {
            const start = minuteMs + Math.floor(rnd() * 280) * 1000;
            await client.query(`DELETE FROM readings WHERE user_id = $1 AND time >= $2 AND time < $3`, [
              racer,
              at(start),
              at(start + 20_000),
            ]);
          }
        }
      } finally {
        client.release();
      }
    };
    await Promise.all([1, 2, 3, 4].map(writer));
    expect(await rollupMismatches(pool, [racer])).toEqual([]);
    const from = '2024-03-05T08:00:00Z';
    const to = '2024-03-05T08:05:00Z';
    const args = { metric: 'heart_rate' as const, from: new Date(from), to: new Date(to), bucket: 'MINUTE' as const };
    expectSame(await series.series(racer, args), await expected(racer, from, to, 'MINUTE'), 'race');
  });
});

describe('the rollup migration on a database that already has readings', () => {
  const name = `fitbit_rollup_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const url = new URL(config.postgres.url);
  const admin = new pg.Client({ connectionString: config.postgres.url });
  let scratch: pg.Pool | undefined;
  const before = mkdtempSync(join(tmpdir(), 'fitbit-migrations-'));

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    url.pathname = `/${name}`;
    scratch = new pg.Pool({ connectionString: url.toString(), max: 2 });
    // The migrations before the rollup, so that readings exist when it is created.
    for (const file of ['001_readings.sql', '002_readings_layout.plain.sql'])
      cpSync(join(MIGRATIONS_DIR, file), join(before, file));
  });

  afterAll(async () => {
    await scratch?.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined);
    await admin.end();
    rmSync(before, { recursive: true, force: true });
  });

  it('backfills the existing readings, then follows writes; TRUNCATE empties it', async () => {
    const db = scratch!;
    const { flavour } = await migrate(db, before);
    expect(flavour).toBe('plain'); // the development machines have no TimescaleDB
    await db.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT 'u' || (i % 4), 'heart_rate', TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '7.5 seconds', i % 97
       FROM generate_series(0, 9999) AS i`,
    );
    // The rollup first; the later migrations (history tables, erasure ledger) follow it.
    expect((await migrate(db)).applied[0]).toBe('003_readings_minute');
    const userIds = ['u0', 'u1', 'u2', 'u3'];
    expect(await rollupMismatches(db, userIds)).toEqual([]);
    const total = await db.query<{ n: string }>('SELECT sum(count) AS n FROM readings_minute');
    expect(Number(total.rows[0]!.n)).toBe(10_000);

    await insert(db, [{ user: 'u0', metric: 'heart_rate', time: '2024-01-01T00:00:01.5Z', value: 500 }]);
    expect(await rollupMismatches(db, userIds)).toEqual([]);

    await db.query('TRUNCATE readings');
    const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings_minute');
    expect(left.rows[0]!.n).toBe(0);
  });
});
