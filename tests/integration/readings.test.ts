/**
 * `readings` paging against real Postgres: walking the cursors returns every reading of the
 * range exactly once, in time order, including readings stored with sub-millisecond times.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId } from '../helpers/wait.js';

interface Page {
  readings: {
    nodes: { userId: string; metric: string; time: string; value: number; deviceId: string | null }[];
    endCursor: string | null;
    hasNextPage: boolean;
  };
}

const READINGS = /* GraphQL */ `
  query Readings($userId: ID!, $metric: Metric!, $from: DateTime!, $to: DateTime!, $first: Int, $after: String) {
    readings(userId: $userId, metric: $metric, from: $from, to: $to, first: $first, after: $after) {
      nodes {
        userId
        metric
        time
        value
        deviceId
      }
      endCursor
      hasNextPage
    }
  }
`;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const FROM = '2025-07-01T00:00:00.000Z';
const TO = '2025-07-02T00:00:00.000Z';

describe('readings paging', () => {
  let gw: TestGateway;
  let pool: pg.Pool;
  const user = uniqueId('readings');
  let inRange: { time: string; value: number; micros: string }[] = [];

  beforeAll(async () => {
    pool = createPool(config.postgres, createLogger(config, 'readings-test'), {
      max: 2,
      applicationName: 'fitbit-test',
    });
    await migrate(pool);
    // 1,037 readings, one per 83 s, some with microsecond parts, plus one before and one at `to`.
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value, device_id)
       SELECT $1, 'heart_rate', TIMESTAMPTZ '2025-07-01 00:00:00+00' + i * INTERVAL '83 seconds' + (i % 7) * INTERVAL '1 microsecond',
              60 + (i % 50), CASE WHEN i % 2 = 0 THEN 'charge6-1' END
       FROM generate_series(0, 1036) AS i`,
      [user],
    );
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value) VALUES
         ($1, 'heart_rate', TIMESTAMPTZ '2025-06-30 23:59:59.999+00', 1),
         ($1, 'heart_rate', $2, 2),
         ($1, 'steps', TIMESTAMPTZ '2025-07-01 01:00:00+00', 3)`,
      [user, TO],
    );
    const { rows } = await pool.query<{ time: Date; value: number; micros: string }>(
      `SELECT time, value, (extract(epoch FROM time) * 1000000)::bigint::text AS micros FROM readings
       WHERE user_id = $1 AND metric = 'heart_rate' AND time >= $2 AND time < $3 ORDER BY time`,
      [user, FROM, TO],
    );
    inRange = rows.map((r) => ({ time: r.time.toISOString(), value: r.value, micros: r.micros }));
    gw = await startGateway();
  });

  afterAll(async () => {
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = $1', [user]);
    await pool?.end();
  });

  it('walks every reading of the range exactly once, oldest first', async () => {
    const seen: Page['readings']['nodes'] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: Awaited<ReturnType<typeof gw.gql<Page>>> = await gw.gql<Page>(READINGS, {
        userId: user,
        metric: 'HEART_RATE',
        from: FROM,
        to: TO,
        first: 100,
        after,
      });
      expect(res.errors).toBeUndefined();
      const page: Page['readings'] = res.data!.readings;
      pages += 1;
      seen.push(...page.nodes);
      if (!page.hasNextPage) {
        expect(page.nodes.length).toBeLessThanOrEqual(100);
        break;
      }
      expect(page.nodes).toHaveLength(100);
      expect(page.endCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      after = page.endCursor;
      expect(pages).toBeLessThan(20);
    }
    expect(inRange).toHaveLength(1037);
    expect(pages).toBe(11);
    expect(seen.map((r) => [r.time, r.value])).toEqual(inRange.map((r) => [r.time, r.value]));
    expect(seen.every((r) => r.userId === user && r.metric === 'HEART_RATE')).toBe(true);
    expect(seen[0]!.deviceId).toBe('charge6-1');
    expect(seen[1]!.deviceId).toBeNull();
  });

  it('pages 100 by default and at most 1000', async () => {
    const byDefault = await gw.gql<Page>(READINGS, { userId: user, metric: 'HEART_RATE', from: FROM, to: TO });
    expect(byDefault.data!.readings.nodes).toHaveLength(100);
    const max = await gw.gql<Page>(READINGS, { userId: user, metric: 'HEART_RATE', from: FROM, to: TO, first: 1000 });
    expect(max.data!.readings.nodes).toHaveLength(1000);
    expect(max.data!.readings.hasNextPage).toBe(true);
    for (const first of [0, -1, 1001]) {
      const res = await gw.gql(READINGS, { userId: user, metric: 'HEART_RATE', from: FROM, to: TO, first });
      expect(res.errors?.[0]?.extensions?.code, `first=${first}`).toBe('BAD_USER_INPUT');
    }
  });

  it('keeps a cursor valid while readings arrive later in time', async () => {
    const one = await gw.gql<Page>(READINGS, { userId: user, metric: 'HEART_RATE', from: FROM, to: TO, first: 3 });
    const cursor = one.data!.readings.endCursor;
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value) VALUES ($1, 'heart_rate', TIMESTAMPTZ '2025-07-01 23:59:59.5+00', 5)`,
      [user],
    );
    const two = await gw.gql<Page>(READINGS, {
      userId: user,
      metric: 'HEART_RATE',
      from: FROM,
      to: TO,
      first: 3,
      after: cursor,
    });
    expect(two.data!.readings.nodes.map((r) => r.time)).toEqual(inRange.slice(3, 6).map((r) => r.time));
    await pool.query(`DELETE FROM readings WHERE user_id = $1 AND time = TIMESTAMPTZ '2025-07-01 23:59:59.5+00'`, [
      user,
    ]);
  });

  it('answers an empty range with no nodes, no cursor and no next page', async () => {
    const res = await gw.gql<Page>(READINGS, { userId: user, metric: 'STEPS', from: '2025-07-01T02:00:00Z', to: TO });
    expect(res.data!.readings).toEqual({ nodes: [], endCursor: null, hasNextPage: false });
  });

  it('refuses a cursor it did not make with INVALID_CURSOR', async () => {
    for (const after of [
      'nonsense',
      'cjE6MTIzNDU2Nzg5MDEyMzQ1Njc4OTA',
      Buffer.from("r1:1' OR '1'='1").toString('base64url'),
      '%%%',
    ]) {
      const res = await gw.gql(READINGS, { userId: user, metric: 'HEART_RATE', from: FROM, to: TO, after });
      expect(res.errors?.[0]?.extensions?.code, after).toBe('INVALID_CURSOR');
    }
  });

  it('checks ranges and user ids like series does', async () => {
    const inverted = await gw.gql(READINGS, { userId: user, metric: 'HEART_RATE', from: TO, to: FROM });
    expect(inverted.errors?.[0]?.extensions?.code).toBe('INVALID_RANGE');
    const tooLong = await gw.gql(READINGS, {
      userId: user,
      metric: 'HEART_RATE',
      from: '2020-01-01T00:00:00Z',
      to: TO,
    });
    expect(tooLong.errors?.[0]?.extensions?.code).toBe('INVALID_RANGE');
    const injected = await gw.gql(READINGS, {
      userId: "x' UNION SELECT 1 --",
      metric: 'HEART_RATE',
      from: FROM,
      to: TO,
    });
    expect(injected.errors?.[0]?.extensions?.code).toBe('INVALID_USER_ID');
  });
});
