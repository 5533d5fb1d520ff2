/**
 * DataLoader batching, counted on the gateway's real pool: `users(ids: [100 ids])` costs one SQL
 * statement per distinct User field arguments, however many users are asked for.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId } from '../helpers/wait.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const FROM = '2025-08-01T00:00:00.000Z';
const TO = '2025-08-01T06:00:00.000Z';

/**
 * Counts the statements that pools named `fitbit-gateway` send, by wrapping the real
 * pg.Pool.prototype.query (the statements still run). The services only use pool.query.
 */
const statements: string[] = [];
const realQuery = pg.Pool.prototype.query;
function countGatewayStatements(): void {
  pg.Pool.prototype.query = function (this: pg.Pool, ...args: unknown[]) {
    const options = (this as unknown as { options: { application_name?: string } }).options;
    if (options.application_name === 'fitbit-gateway') {
      const first = args[0];
      statements.push(typeof first === 'string' ? first : String((first as { text?: string }).text));
    }
    return (realQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof realQuery;
}

interface UserRow {
  id: string;
  latest: { value: number; time: string; userId: string; metric: string } | null;
  steps?: { value: number } | null;
  series?: { time: string; count: number; sum: number }[];
  hourly?: { time: string; count: number }[];
}

describe('User fields through per-request DataLoaders', () => {
  let gw: TestGateway;
  let pool: pg.Pool;
  const prefix = uniqueId('dl');
  const ids = Array.from({ length: 100 }, (_, i) => `${prefix}-${i}`);
  // Users 90..99 have no readings: they are still Users, with null latest and empty series.
  const withReadings = ids.slice(0, 90);

  beforeAll(async () => {
    pool = createPool(config.postgres, createLogger(config, 'dataloader-test'), {
      max: 2,
      applicationName: 'fitbit-test',
    });
    await migrate(pool);
    // Per user: heart rate every 10 minutes for 6 hours (value depends on user and time), steps for even users.
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT u, 'heart_rate', TIMESTAMPTZ '2025-08-01 00:00:00+00' + m * INTERVAL '10 minutes', 50 + (ord % 40) + m
       FROM unnest($1::text[]) WITH ORDINALITY AS t(u, ord), generate_series(0, 35) AS m
       UNION ALL
       SELECT u, 'steps', TIMESTAMPTZ '2025-08-01 00:00:00+00' + m * INTERVAL '30 minutes', ord
       FROM unnest($1::text[]) WITH ORDINALITY AS t(u, ord), generate_series(0, 11) AS m WHERE ord % 2 = 0`,
      [withReadings],
    );
    gw = await startGateway();
    countGatewayStatements();
  });

  afterEach(() => {
    statements.length = 0;
  });

  afterAll(async () => {
    pg.Pool.prototype.query = realQuery;
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [ids]);
    await pool?.end();
  });

  it('latest for 100 users is one statement, and each user gets their own latest reading', async () => {
    const res = await gw.gql<{ users: UserRow[] }>(
      `query ($ids: [ID!]!) { users(ids: $ids) { id latest(metric: HEART_RATE) { userId metric time value } } }`,
      { ids },
    );
    expect(res.errors).toBeUndefined();
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/FROM readings/);
    const users = res.data!.users;
    expect(users.map((u) => u.id)).toEqual(ids);
    const { rows } = await pool.query<{ user_id: string; time: Date; value: number }>(
      `SELECT user_id, max(time) AS time, (array_agg(value ORDER BY time DESC))[1] AS value
       FROM readings WHERE user_id = ANY($1) AND metric = 'heart_rate' GROUP BY user_id`,
      [ids],
    );
    const want = new Map(rows.map((r) => [r.user_id, r]));
    for (const u of users) {
      const w = want.get(u.id);
      if (!w) expect(u.latest, u.id).toBeNull();
      else expect(u.latest).toEqual({ userId: u.id, metric: 'HEART_RATE', time: w.time.toISOString(), value: w.value });
    }
    expect(users.filter((u) => u.latest === null)).toHaveLength(10);
  });

  it('costs one statement per distinct field arguments: latest x2 metrics + series x2 buckets = 4', async () => {
    const res = await gw.gql<{ users: UserRow[] }>(
      `query ($ids: [ID!]!, $from: DateTime!, $to: DateTime!) {
        users(ids: $ids) {
          id
          latest(metric: HEART_RATE) { value time userId metric }
          again: latest(metric: HEART_RATE) { value }
          steps: latest(metric: STEPS) { value }
          series(metric: HEART_RATE, from: $from, to: $to, bucket: MINUTE) { time count sum }
          hourly: series(metric: HEART_RATE, from: $from, to: $to, bucket: HOUR) { time count }
        }
      }`,
      { ids, from: FROM, to: TO },
    );
    expect(res.errors).toBeUndefined();
    expect(statements).toHaveLength(4);
    const users = res.data!.users;
    expect(users[1]!.steps).toEqual({ value: 2 });
    expect(users[0]!.steps).toBeNull();
    expect(users[0]!.hourly).toHaveLength(6);
    expect(users[0]!.hourly!.every((p) => p.count === 6)).toBe(true);
    expect(users[99]!.series).toEqual([]);
  });

  it("a user's series through users() equals Query.series for the same user", async () => {
    const res = await gw.gql<{ users: UserRow[] }>(
      `query ($ids: [ID!]!, $from: DateTime!, $to: DateTime!) {
        users(ids: $ids) { id series(metric: HEART_RATE, from: $from, to: $to, bucket: FIFTEEN_MINUTES) { time count sum } }
      }`,
      { ids: ids.slice(0, 30), from: FROM, to: TO },
    );
    expect(statements).toHaveLength(1);
    for (const u of [res.data!.users[0]!, res.data!.users[17]!]) {
      const single = await gw.gql<{ series: { time: string; count: number; sum: number }[] }>(
        `query ($id: ID!, $from: DateTime!, $to: DateTime!) { series(userId: $id, metric: HEART_RATE, from: $from, to: $to, bucket: FIFTEEN_MINUTES) { time count sum } }`,
        { id: u.id, from: FROM, to: TO },
      );
      expect(u.series).toEqual(single.data!.series);
      expect(u.series!.length).toBe(24);
    }
  });

  it('user(id) returns a User for an id without readings, and refuses a malformed id', async () => {
    const res = await gw.gql<{ user: UserRow | null }>(
      `{ user(id: "${prefix}-99") { id latest(metric: SPO2) { value } } }`,
    );
    expect(res.data!.user).toEqual({ id: `${prefix}-99`, latest: null });
    const bad = await gw.gql(`{ user(id: "a' OR 1=1 --") { id } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('INVALID_USER_ID');
    const mixed = await gw.gql(`query ($ids: [ID!]!) { users(ids: $ids) { id } }`, { ids: [ids[0], 'bad id'] });
    expect(mixed.errors?.[0]?.extensions?.code).toBe('INVALID_USER_ID');
  });

  it('fails a batched series field with its code before any statement runs', async () => {
    const res = await gw.gql(
      `query ($ids: [ID!]!) { users(ids: $ids) { id series(metric: HEART_RATE, from: "${TO}", to: "${FROM}", bucket: HOUR) { time } } }`,
      { ids: ids.slice(0, 5) },
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('INVALID_RANGE');
    expect(statements).toHaveLength(0);
  });
});
