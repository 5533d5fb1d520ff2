/**
 * `GET /users/{userId}/export` through a real gateway against real Postgres: 100,000 readings of
 * one user (three metrics, some with device ids) come back as NDJSON, one reading v1 per line,
 * oldest first, each line equal to what this file wrote; `from`/`to` cut the range; another
 * user's readings never appear; the access rule is the one for reading the user's data.
 */
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { signToken } from '../../src/auth/sign.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId } from '../helpers/wait.js';

const SECRET = 'export-secret-0123456789-abcdefghijklmn';
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const N = 100_000;
const START = Date.parse('2025-02-01T00:00:00.000Z');
const METRICS = ['heart_rate', 'steps', 'spo2'] as const;

interface Line {
  eventId?: string;
  userId: string;
  metric: string;
  time: string;
  value: number;
  deviceId?: string;
}

/** Reading i of the test user: three metrics in turn, a reading every 2 s per metric. */
function expectedLine(user: string, i: number): Line {
  const metric = METRICS[i % 3]!;
  const t = START + Math.floor(i / 3) * 2000 + 7; // same instant for the three metrics, +7 ms
  const value = metric === 'heart_rate' ? 40 + (i % 150) + 0.25 : metric === 'steps' ? i % 1000 : 90 + (i % 10);
  const line: Line = { userId: user, metric, time: new Date(t).toISOString(), value };
  if (i % 5 === 0) line.deviceId = `dev-"${i % 7}"`; // a quote survives the trip
  return line;
}

describe('export of a user as NDJSON', () => {
  let gw: TestGateway;
  let pool: pg.Pool;
  const user = uniqueId('export');
  const other = uniqueId('export-other');

  const url = (u: string, query = '') => gw.url.replace(/\/graphql$/, `/users/${encodeURIComponent(u)}/export${query}`);
  const token = (sub: string, roles: string[]) => signToken({ sub, roles }, { secret: SECRET });

  async function lines(res: Response): Promise<Line[]> {
    const out: Line[] = [];
    const rl = createInterface({ input: Readable.fromWeb(res.body as WebReadableStream) });
    for await (const text of rl) out.push(JSON.parse(text) as Line);
    return out;
  }

  beforeAll(async () => {
    pool = createPool(config, createLogger(config, 'export-test'), { max: 2, applicationName: 'fitbit-test' });
    await migrate(pool);
    const rows = Array.from({ length: N }, (_, i) => expectedLine(user, i));
    // Written in reverse, so the export's order is its own doing.
    rows.reverse();
    for (let i = 0; i < N; i += 20_000) {
      const part = rows.slice(i, i + 20_000);
      await pool.query(
        `INSERT INTO readings (user_id, metric, time, value, device_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::text[])`,
        [part.map((r) => r.userId), part.map((r) => r.metric), part.map((r) => r.time), part.map((r) => r.value), part.map((r) => r.deviceId ?? null)],
      );
    }
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value) VALUES ($1, 'heart_rate', $2, 99), ($1, 'steps', $3, 5)`,
      [other, new Date(START + 1000).toISOString(), new Date(START + 5000).toISOString()],
    );
    gw = await startGateway({ AUTH_JWT_SECRET: SECRET });
  });

  afterAll(async () => {
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [[user, other]]);
    await pool?.end();
  });

  it('streams all 100,000 readings, oldest first, each line the reading written', async () => {
    const res = await fetch(url(user), { headers: { authorization: `Bearer ${await token(user, ['user'])}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const got = await lines(res);
    expect(got).toHaveLength(N);
    // Oldest first, metrics in name order within an instant: heart_rate, spo2, steps.
    const order = ['heart_rate', 'spo2', 'steps'];
    const want = Array.from({ length: N }, (_, i) => expectedLine(user, i)).sort(
      (a, b) => a.time.localeCompare(b.time) || order.indexOf(a.metric) - order.indexOf(b.metric),
    );
    for (let i = 0; i < N; i += 1) {
      if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) expect(got[i]).toEqual(want[i]);
    }
    expect(got.every((l) => l.userId === user)).toBe(true);
  });

  it('from (inclusive) and to (exclusive) cut the range', async () => {
    const from = new Date(START + 10_000 + 7).toISOString(); // the 6th instant
    const to = new Date(START + 20_000 + 7).toISOString(); // the 11th, excluded
    const res = await fetch(url(user, `?from=${from}&to=${to}`));
    const got = await lines(res);
    expect(got).toHaveLength(5 * 3);
    expect(got[0]!.time).toBe(from);
    expect(got.at(-1)!.time).toBe(new Date(START + 18_000 + 7).toISOString());
  });

  it('refuses other users, bad ranges and bad ids with codes, before any line', async () => {
    const bob = await token('someone-else', ['user']);
    const forbidden = await fetch(url(user), { headers: { authorization: `Bearer ${bob}` } });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'FORBIDDEN',
    );
    const badRange = await fetch(url(user, '?from=yesterday'));
    expect(badRange.status).toBe(400);
    expect(((await badRange.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'INVALID_RANGE',
    );
    const badId = await fetch(url('no spaces allowed'));
    expect(((await badId.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'INVALID_USER_ID',
    );
    const admin = await fetch(url(other), { headers: { authorization: `Bearer ${await token('ops', ['admin'])}` } });
    expect((await lines(admin)).map((l) => [l.metric, l.value])).toEqual([
      ['heart_rate', 99],
      ['steps', 5],
    ]);
  });
});
