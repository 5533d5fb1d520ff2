/**
 * cohortStats and leaderboard through the real Trino, checked against the same aggregation
 * computed independently on Postgres; the result cache and single-flight, counted on Trino's side;
 * and failures (bad SQL target, unreachable Trino, timeout, cancellation) mapped to their codes.
 *
 * Isolation: the aggregates span all users, so the seeded readings sit in a time window of their
 * own (a random day between 2001 and 2020) that no other test or benchmark writes to.
 * Needs `npm run stack:up` (Trino and Postgres) and the `readings` table (created here if missing).
 */
import { createServer } from 'node:net';
import pg from 'pg';
import { migrate } from '../../src/timescale/migrations.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import type { BucketName } from '../../src/domain/metrics.js';
import { createTrinoRunner } from '../../src/trino/trino.client.js';
import { createTrinoService, TrinoError, type TrinoService } from '../../src/trino/index.js';
import { ErrorCode } from '../../src/errors.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { expectPercentileRank } from '../helpers/percentiles.js';

const config = loadConfig();

const PG_INTERVAL: Record<BucketName, string> = {
  SECOND: '1 second',
  MINUTE: '1 minute',
  FIVE_MINUTES: '5 minutes',
  FIFTEEN_MINUTES: '15 minutes',
  HOUR: '1 hour',
  DAY: '1 day',
};

/** Rank error allowed for approx_percentile (see docs/trino.md), plus one reading's worth. */
const PERCENTILE_RANK_ERROR = 0.02;

/** Deterministic pseudo-random values, so a failure can be reproduced from the seed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function serviceWith(
  overrides: Partial<Config['trino']> = {},
  source = uniqueId('fitbit-test'),
): { service: TrinoService; source: string } {
  const service = createTrinoService({ config: { ...config, trino: { ...config.trino, ...overrides } }, source });
  return { service, source };
}

async function trinoScalar(sql: string): Promise<unknown> {
  const runner = createTrinoRunner({ ...config.trino, source: 'fitbit-test-inspect', timeoutMs: 20_000 });
  return (await runner.run(sql)).rows[0]?.[0];
}

/** How many queries Trino saw from `source` (test-generated, so safe to inline). */
async function queriesFrom(source: string): Promise<number> {
  return Number(await trinoScalar(`SELECT count(*) FROM system.runtime.queries WHERE source = '${source}'`));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<TrinoError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TrinoError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('Trino aggregates over readings', () => {
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 3 });
  const rand = lcg(Date.now());
  // A whole day of its own, 10:00-10:30 UTC seeded.
  const day = Date.UTC(2001, 0, 1) + Math.floor(rand() * 7000) * 86_400_000;
  const from = new Date(day + 10 * 3_600_000);
  const to = new Date(from.getTime() + 30 * 60_000);
  const users = Array.from({ length: 5 }, (_, i) => uniqueId(`trino-q${i}`));
  const stepTotals = [500, 400, 400, 300, 100];

  beforeAll(async () => {
    await migrate(pool);
    const rows: [string, string, Date, number][] = [];
    users.forEach((user, u) => {
      // Heart rate every 5 s, per-user level plus noise: 360 readings per user.
      for (let t = from.getTime(); t < to.getTime(); t += 5_000) {
        rows.push([user, 'heart_rate', new Date(t), Math.round((60 + u * 8 + rand() * 60) * 10) / 10]);
      }
      // Steps in 10 readings summing to the user's total, ties between users 2 and 3.
      for (let i = 0; i < 10; i += 1)
        rows.push([user, 'steps', new Date(from.getTime() + i * 60_000 + 1_000), stepTotals[u]! / 10]);
    });
    // Exactly at `to`: outside the half-open range, and extreme enough to show if counted.
    rows.push([users[0]!, 'heart_rate', to, 250]);
    rows.push([users[4]!, 'steps', to, 1000]);
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[])`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    );
  });

  afterAll(async () => {
    await pool.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    await pool.end();
  });

  describe.each<BucketName>(['MINUTE', 'FIVE_MINUTES', 'HOUR'])('cohortStats by %s', (bucket) => {
    it('equals the same aggregation computed on Postgres', async () => {
      const { service } = serviceWith();
      const points = await service.cohortStats('heart_rate', from, to, bucket);
      const { rows: expected } = await pool.query<{
        bucket: Date;
        users: number;
        n: number;
        avg: number;
        min: number;
        max: number;
        vals: number[];
      }>(
        `SELECT date_bin($4::interval, time, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
                count(DISTINCT user_id)::int AS users, count(*)::int AS n,
                avg(value) AS avg, min(value) AS min, max(value) AS max,
                array_agg(value ORDER BY value) AS vals
           FROM readings
          WHERE metric = $1 AND time >= $2 AND time < $3
          GROUP BY 1 ORDER BY 1`,
        ['heart_rate', from, to, PG_INTERVAL[bucket]],
      );
      expect(points.map((p) => p.time.toISOString())).toEqual(expected.map((e) => e.bucket.toISOString()));
      points.forEach((p, i) => {
        const e = expected[i]!;
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
          // Rank error: the share of readings at or below the estimate, against the quantile asked.
          const allowed = PERCENTILE_RANK_ERROR + 1 / e.vals.length;
          expectPercentileRank(e.vals, q, v, allowed, `p${q * 100} of ${e.bucket.toISOString()}: ${v}`);
        }
      });
      expect(points.length).toBe(bucket === 'MINUTE' ? 30 : bucket === 'FIVE_MINUTES' ? 6 : 1);
      expect(points.every((p) => p.users === 5)).toBe(true);
    });
  });

  it('omits empty buckets and labels buckets by their epoch-aligned start', async () => {
    const { service } = serviceWith();
    // From 09:00 to 11:00 by FIFTEEN_MINUTES: data in 10:00 and 10:15, and the lone reading at
    // 10:30 (outside the other tests' ranges, inside this one); 09:00-09:45 and 10:45 are empty.
    const points = await service.cohortStats(
      'heart_rate',
      new Date(from.getTime() - 3_600_000),
      new Date(to.getTime() + 1_800_000),
      'FIFTEEN_MINUTES',
    );
    expect(points.map((p) => p.time.getTime())).toEqual([from.getTime(), from.getTime() + 900_000, to.getTime()]);
    expect(points[2]).toMatchObject({ users: 1, count: 1, min: 250, max: 250, p50: 250, p95: 250 });
  });

  it('ranks a count-like metric by sum, with competition ranks for ties', async () => {
    const { service } = serviceWith();
    const board = await service.leaderboard('steps', from, to, 4);
    const { rows: expected } = await pool.query<{ user_id: string; value: number; rank: string }>(
      `SELECT user_id, sum(value) AS value, rank() OVER (ORDER BY sum(value) DESC) AS rank
         FROM readings WHERE metric = 'steps' AND time >= $1 AND time < $2
        GROUP BY user_id ORDER BY value DESC, user_id LIMIT 4`,
      [from, to],
    );
    expect(board).toEqual(expected.map((e) => ({ rank: Number(e.rank), userId: e.user_id, value: e.value })));
    expect(board.map((e) => e.rank)).toEqual([1, 2, 2, 4]);
    expect(board[0]).toEqual({ rank: 1, userId: users[0], value: 500 });
  });

  it('ranks other metrics by average', async () => {
    const { service } = serviceWith();
    const board = await service.leaderboard('heart_rate', from, to);
    const { rows: expected } = await pool.query<{ user_id: string; value: number }>(
      `SELECT user_id, avg(value) AS value FROM readings
        WHERE metric = 'heart_rate' AND time >= $1 AND time < $2
        GROUP BY user_id ORDER BY value DESC, user_id`,
      [from, to],
    );
    expect(board.map((e) => e.userId)).toEqual(expected.map((e) => e.user_id));
    board.forEach((e, i) => expect(e.value).toBeCloseTo(expected[i]!.value, 9));
    expect(board.map((e) => e.rank)).toEqual([1, 2, 3, 4, 5]);
  });

  it('answers a repeated identical request from the cache without asking Trino', async () => {
    const { service, source } = serviceWith({ cacheTtlMs: 60_000 });
    const first = await service.cohortStats('heart_rate', from, to, 'FIVE_MINUTES');
    const second = await service.cohortStats('heart_rate', new Date(from), new Date(to), 'FIVE_MINUTES');
    expect(second).toEqual(first);
    expect(service.stats()).toMatchObject({ trinoQueries: 1, hits: 1, misses: 1 });
    expect(await queriesFrom(source)).toBe(1);
    // A different question is a different entry.
    await service.cohortStats('heart_rate', from, to, 'HOUR');
    expect(await queriesFrom(source)).toBe(2);
  });

  it('runs one Trino query for concurrent identical requests', async () => {
    const { service, source } = serviceWith({ cacheTtlMs: 0 });
    const boards = await Promise.all(Array.from({ length: 6 }, () => service.leaderboard('steps', from, to, 3)));
    expect(new Set(boards.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(service.stats()).toMatchObject({ trinoQueries: 1, coalesced: 5 });
    expect(await queriesFrom(source)).toBe(1);
    // TTL 0: the next request, after the first finished, asks Trino again.
    await service.leaderboard('steps', from, to, 3);
    expect(await queriesFrom(source)).toBe(2);
  });

  it('rejects injection-shaped and unknown input before any query', async () => {
    const { service, source } = serviceWith();
    const bad = await rejection(service.cohortStats("heart_rate' OR '1'='1", from, to, 'HOUR'));
    expect(bad.code).toBe(ErrorCode.INVALID_METRIC);
    expect((await rejection(service.leaderboard('steps', to, from))).code).toBe(ErrorCode.INVALID_RANGE);
    expect((await rejection(service.cohortStats('steps', from, to, 'WEEK' as BucketName))).code).toBe(
      ErrorCode.BAD_USER_INPUT,
    );
    expect(service.stats().trinoQueries).toBe(0);
    expect(await queriesFrom(source)).toBe(0);
  });

  it('maps a query failing in Trino to TRINO_QUERY_FAILED with Trino’s error name', async () => {
    const { service } = serviceWith({ schema: 'no_such_schema_for_tests' });
    const err = await rejection(service.cohortStats('heart_rate', from, to, 'HOUR'));
    expect(err.code).toBe(ErrorCode.TRINO_QUERY_FAILED);
    expect(err.trinoErrorName).toMatch(/NOT_FOUND/);
    expect(err.queryId).toMatch(/^\d{8}_\d{6}_\d{5}_\w+$/);
    // The client-facing message names neither SQL nor hosts.
    expect(err.message).not.toMatch(/readings|no_such_schema|127\.0\.0\.1/);
  });

  it('maps an unreachable Trino to TRINO_UNAVAILABLE, quickly', async () => {
    const port = await freePort();
    const { service } = serviceWith({ port, server: `http://127.0.0.1:${port}` });
    const started = Date.now();
    const err = await rejection(service.leaderboard('steps', from, to));
    expect(err.code).toBe(ErrorCode.TRINO_UNAVAILABLE);
    expect(err.retriable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await rejection(service.ping())).code).toBe(ErrorCode.TRINO_UNAVAILABLE);
  });

  it('pings with a real query and reports its latency', async () => {
    const { service } = serviceWith();
    const ping = await service.ping();
    expect(ping.latencyMs).toBeGreaterThan(0);
    expect(ping.queryId).toBeTruthy();
  });

  it('refuses calls after stop', async () => {
    const { service } = serviceWith();
    await service.start();
    await service.stop();
    expect((await rejection(service.ping())).code).toBe(ErrorCode.TRINO_UNAVAILABLE);
  });
});

describe('Trino query timeout and cancellation', () => {
  // Long enough to still be running when the test stops it, on any machine: 10^11 rows.
  const SLOW_SQL = `SELECT count(*) FROM UNNEST(sequence(1, 10000)) a(x)
    CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 1000)) c(z)
    WHERE (x * y + z) % 7 = 3`;

  async function stateOf(queryId: string): Promise<{ state: string; errorCode: string | undefined }> {
    const runner = createTrinoRunner({ ...config.trino, source: 'fitbit-test-inspect', timeoutMs: 20_000 });
    const { rows } = await runner.run(
      `SELECT state, error_code FROM system.runtime.queries WHERE query_id = '${queryId.replace(/[^\w]/g, '')}'`,
    );
    const row = rows[0] ?? [];
    return { state: String(row[0]), errorCode: row[1] === null ? undefined : String(row[1]) };
  }

  it('stops a query that runs past the timeout, in Trino too', async () => {
    const runner = createTrinoRunner({ ...config.trino, source: uniqueId('fitbit-test'), timeoutMs: 1_500 });
    const started = Date.now();
    const err = await rejection(runner.run(SLOW_SQL));
    expect(err.code).toBe(ErrorCode.TRINO_TIMEOUT);
    // The wait ends at the timeout, not when Trino gets round to noticing the cancel.
    expect(Date.now() - started).toBeLessThan(5_000);
    const queryId = err.queryId;
    expect(queryId).toBeTruthy();
    await waitFor(async () => (await stateOf(queryId!)).state === 'FAILED', {
      timeoutMs: 15_000,
      what: 'the query to end in Trino',
    });
    expect((await stateOf(queryId!)).errorCode).toBe('USER_CANCELED');
  });

  it('cancels the Trino query when the caller aborts', async () => {
    const source = uniqueId('fitbit-test');
    const runner = createTrinoRunner({ ...config.trino, source, timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = runner.run(SLOW_SQL, { signal: controller.signal });
    // Abort once Trino has the query, so that there is something to cancel.
    await waitFor(async () => (await queriesFrom(source)) > 0, { what: 'the query to reach Trino' });
    controller.abort();
    const err = await rejection(pending);
    expect(err.code).toBe(ErrorCode.TRINO_CANCELLED);
    const queryId = String(await trinoScalar(`SELECT query_id FROM system.runtime.queries WHERE source = '${source}'`));
    await waitFor(async () => (await stateOf(queryId)).state === 'FAILED', {
      timeoutMs: 15_000,
      what: 'the query to end in Trino',
    });
    expect((await stateOf(queryId)).errorCode).toBe('USER_CANCELED');
  });

  it('rejects at once, without a query, when the signal has already fired', async () => {
    const { service, source } = serviceWith();
    const err = await rejection(
      service.cohortStats('heart_rate', new Date(0), new Date(60_000), 'SECOND', { signal: AbortSignal.abort() }),
    );
    expect(err.code).toBe(ErrorCode.TRINO_CANCELLED);
    expect(await queriesFrom(source)).toBe(0);
  });
});
