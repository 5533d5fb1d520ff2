/**
 * `GET /users/{userId}/export` against real Postgres: 100,000 readings of one user over three
 * metrics (inserted by the test, with ties in time between metrics) read back line for line as
 * reading v1 NDJSON, oldest first; `from`/`to`; the access rule of reading that user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createPool, type Pool } from '../../src/timescale/pool.js';
import { migrate } from '../../src/timescale/migrations.js';
import { signToken } from '../../src/auth/sign.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId } from '../helpers/wait.js';

const SECRET = 'export-secret-0123456789-abcdefghijklmn';
const T0 = Date.UTC(2025, 6, 1);
const N = 100_000;
const METRICS = ['heart_rate', 'spo2', 'steps'] as const;

interface Line {
  eventId?: string;
  userId: string;
  metric: string;
  time: string;
  value: number;
  deviceId?: string;
}

/** Reading i of the test: three metrics take turns; every third second all three share a time. */
function reading(i: number) {
  const metric = METRICS[i % 3]!;
  const time = T0 + Math.floor(i / 3) * 5_000;
  return { metric, time, value: (i % 97) + 0.5, deviceId: i % 2 ? 'charge6' : null, eventId: i % 5 ? null : `e-${i}` };
}

describe('GET /users/{userId}/export', () => {
  let gw: TestGateway;
  let pool: Pool;
  const user = uniqueId('export-u');
  const other = uniqueId('export-o');

  beforeAll(async () => {
    const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
    pool = createPool(config.postgres, createLogger(config, 'export-test'), { max: 2 });
    await migrate(pool);
    const rows = Array.from({ length: N }, (_, i) => reading(i));
    for (let i = 0; i < N; i += 20_000) {
      const part = rows.slice(i, i + 20_000);
      await pool.query(
        `INSERT INTO readings (user_id, metric, time, value, device_id, event_id)
         SELECT $1, m, to_timestamp(t / 1000::float8), v, d, e
         FROM unnest($2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[]) AS x(m, t, v, d, e)`,
        [
          user,
          part.map((r) => r.metric),
          part.map((r) => r.time),
          part.map((r) => r.value),
          part.map((r) => r.deviceId),
          part.map((r) => r.eventId),
        ],
      );
    }
    await pool.query(`INSERT INTO readings (user_id, metric, time, value) VALUES ($1, 'steps', $2, 1)`, [
      other,
      new Date(T0),
    ]);
    gw = await startGateway({ AUTH_MODE: 'required', AUTH_JWT_SECRET: SECRET, RATE_LIMIT_PER_SECOND: '0' });
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [[user, other]]);
    await pool?.end();
  });

  const exportUrl = (userId: string, query = '') =>
    `${gw.url.replace(/\/graphql$/, '')}/users/${userId}/export${query}`;
  const asUser = async (sub: string, roles: string[] = ['user']) => ({
    authorization: `Bearer ${await signToken({ sub, roles, users: [sub] }, { secret: SECRET })}`,
  });

  it('streams every reading once, oldest first, as reading v1 lines', async () => {
    const res = await fetch(exportUrl(user), { headers: await asUser(user) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    expect(lines).toHaveLength(N);
    // The test's own order: by time, then metric name (heart_rate < spo2 < steps).
    const expected = Array.from({ length: N }, (_, i) => reading(i)).sort(
      (a, b) => a.time - b.time || a.metric.localeCompare(b.metric),
    );
    for (let i = 0; i < N; i += 1) {
      const got = lines[i]!;
      const want = expected[i]!;
      if (got.time !== new Date(want.time).toISOString() || got.metric !== want.metric || got.value !== want.value) {
        throw new Error(`line ${i + 1}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      }
      expect(got.userId).toBe(user);
      expect(got.deviceId ?? null).toBe(want.deviceId);
      expect(got.eventId ?? null).toBe(want.eventId);
    }
  }, 120_000);

  it('limits the export to [from, to)', async () => {
    const from = new Date(T0 + 1000 * 5_000).toISOString();
    const to = new Date(T0 + 1010 * 5_000).toISOString();
    const res = await fetch(exportUrl(user, `?from=${from}&to=${to}`), { headers: await asUser(user) });
    const lines = (await res.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    expect(lines).toHaveLength(30); // 10 timestamps x 3 metrics
    expect(lines[0]!.time).toBe(from);
    expect(lines.every((l) => l.time >= from && l.time < to)).toBe(true);
  });

  it('applies the access rule of reading that user, and refuses bad input with a code', async () => {
    expect((await fetch(exportUrl(user))).status).toBe(401);
    const forbidden = await fetch(exportUrl(user), { headers: await asUser(other) });
    expect(forbidden.status).toBe(403);
    expect(
      ((await forbidden.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
    ).toBe('FORBIDDEN');
    const admin = await fetch(exportUrl(other), { headers: await asUser('ops', ['admin']) });
    expect((await admin.text()).trimEnd().split('\n')).toHaveLength(1);
    const badTime = await fetch(exportUrl(user, '?from=yesterday'), { headers: await asUser(user) });
    expect(badTime.status).toBe(400);
    expect(((await badTime.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'INVALID_TIME',
    );
    const badUser = await fetch(exportUrl('%E0%A4%A'), { headers: await asUser('ops', ['admin']) });
    expect(badUser.status).toBe(400);
  });
});
