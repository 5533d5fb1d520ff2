/**
 * Trino stopped under a running gateway (result cache off, so nothing hides the outage):
 * `cohortStats` and `leaderboard` fail with TRINO_UNAVAILABLE in bounded time while `series`,
 * `readings` and `health` keep answering from Postgres; after Trino is started again the Trino
 * fields answer with the same numbers as before. The seeded readings sit on a day of their own
 * (1990s) so the cross-user aggregates only see this file's data. This file stops the stack's own
 * Trino and starts it again in afterAll whatever happened.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { trino as trinoService } from '../../stack/services/trino.js';
import { runningPid } from '../../stack/lib/process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { faultStackContext, restore } from '../helpers/faults.js';

const id = uniqueId('trino-stopped');
const users = [0, 1, 2].map((i) => `${id}-u${i}`);
// A random day between 1990 and 1999: other suites seed 2001-2020 and recent times.
const day = Date.UTC(1990, 0, 1) + Math.floor(Math.random() * 3650) * 86_400_000;
const from = new Date(day).toISOString();
const to = new Date(day + 86_400_000).toISOString();
const vars = { from, to, user: users[0] };

const COHORT = `query($from: DateTime!, $to: DateTime!) { cohortStats(metric: STEPS, from: $from, to: $to, bucket: HOUR) { time count users avg min max } }`;
const LEADERBOARD = `query($from: DateTime!, $to: DateTime!) { leaderboard(metric: STEPS, from: $from, to: $to, limit: 5) { rank userId value } }`;
const SERIES = `query($from: DateTime!, $to: DateTime!, $user: ID!) { series(userId: $user, metric: STEPS, from: $from, to: $to, bucket: HOUR) { time count sum } }`;
const READINGS = `query($from: DateTime!, $to: DateTime!, $user: ID!) { readings(userId: $user, metric: STEPS, from: $from, to: $to, first: 10) { nodes { value } } }`;
const HEALTH = `{ health { name ok detail } }`;
const MIXED = `query($from: DateTime!, $to: DateTime!, $user: ID!) {
  cohortStats(metric: STEPS, from: $from, to: $to, bucket: HOUR) { time count }
  series(userId: $user, metric: STEPS, from: $from, to: $to, bucket: HOUR) { time count sum }
  health { name ok }
}`;

interface Health {
  health: { name: string; ok: boolean; detail: string | null }[];
}
type Cohort = { cohortStats: { time: string; count: number; users: number; avg: number; min: number; max: number }[] };
type Leaderboard = { leaderboard: { rank: number; userId: string; value: number }[] };
type Series = { series: { time: string; count: number; sum: number }[] };

/** Bound for a Trino field to fail while the server is down: refused connections fail at once. */
const FAIL_BOUND_MS = 5000;

describe('Trino stopped', () => {
  const ctx = faultStackContext();
  const db = new pg.Pool({ connectionString: loadConfig().postgres.url, max: 2 });
  let gw: TestGateway;

  beforeAll(async () => {
    // users[i] has 10 readings of steps (10*(i+1) each) in hour 10 and 5 in hour 11.
    const rows: [string, string, number][] = [];
    users.forEach((u, i) => {
      for (let k = 0; k < 10; k += 1)
        rows.push([u, new Date(day + 10 * 3_600_000 + k * 60_000).toISOString(), 10 * (i + 1)]);
      for (let k = 0; k < 5; k += 1) rows.push([u, new Date(day + 11 * 3_600_000 + k * 60_000).toISOString(), 1]);
    });
    await db.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT u, 'steps', t::timestamptz, v FROM unnest($1::text[], $2::text[], $3::float8[]) AS x(u, t, v)`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
    gw = await startGateway({ TRINO_CACHE_TTL_MS: '0', TRINO_QUERY_TIMEOUT_MS: '10000', RATE_LIMIT_PER_SECOND: '0' });
  });

  afterAll(async () => {
    await restore(ctx, trinoService);
    await gw?.stop();
    await db.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    await db.end();
  }, 240_000);

  it('fails only the Trino fields, with their code, and answers them again once Trino is back', async () => {
    const cohortBefore = await gw.gql<Cohort>(COHORT, vars);
    expect(cohortBefore.errors).toBeUndefined();
    expect(cohortBefore.data?.cohortStats.map((p) => [p.count, p.users])).toEqual([
      [30, 3],
      [15, 3],
    ]);
    const leaderBefore = await gw.gql<Leaderboard>(LEADERBOARD, vars);
    expect(leaderBefore.data?.leaderboard.map((e) => [e.userId, e.value])).toEqual([
      [users[2], 305],
      [users[1], 205],
      [users[0], 105],
    ]);
    const seriesBefore = await gw.gql<Series>(SERIES, vars);
    expect(seriesBefore.data?.series.map((p) => [p.count, p.sum])).toEqual([
      [10, 100],
      [5, 5],
    ]);

    const stopStarted = Date.now();
    await trinoService.stop!(ctx);
    const stopMs = Date.now() - stopStarted;
    expect(runningPid(ctx.paths, 'trino')).toBeUndefined();

    // The Trino fields fail fast with their code, every time (no cache, no hang).
    const failures: number[] = [];
    for (const query of [COHORT, LEADERBOARD, COHORT, LEADERBOARD]) {
      const started = Date.now();
      const r = await gw.gql(query, vars);
      failures.push(Date.now() - started);
      expect(r.data ?? null).toBeNull();
      expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['TRINO_UNAVAILABLE']);
      expect(r.errors?.[0]?.extensions?.retriable ?? true).toBe(true);
    }
    expect(Math.max(...failures)).toBeLessThan(FAIL_BOUND_MS);

    // Everything Postgres answers keeps answering, with the same numbers.
    const seriesDuring = await gw.gql<Series>(SERIES, vars);
    expect(seriesDuring.errors).toBeUndefined();
    expect(seriesDuring.data).toEqual(seriesBefore.data);
    const readingsDuring = await gw.gql<{ readings: { nodes: { value: number }[] } }>(READINGS, vars);
    expect(readingsDuring.errors).toBeUndefined();
    expect(readingsDuring.data?.readings.nodes).toHaveLength(10);
    const health = await gw.gql<Health>(HEALTH);
    expect(health.errors).toBeUndefined();
    const byName = new Map(health.data!.health.map((h) => [h.name, h]));
    expect(byName.get('trino')?.ok).toBe(false);
    expect(byName.get('trino')?.detail).toBeTruthy();
    expect(byName.get('postgres')?.ok).toBe(true);
    expect(byName.get('kafka')?.ok).toBe(true);

    // In one request with a Trino field: cohortStats is non-null at the root (docs/contracts.md), so its
    // error nulls `data` as GraphQL requires; the error still names the field and the code, and
    // nothing else failed. Clients that want the Postgres fields regardless send them apart.
    const mixed = await gw.gql<Series>(MIXED, vars);
    expect(mixed.errors?.map((e) => [e.extensions?.code, (e as { path?: string[] }).path?.[0]])).toEqual([
      ['TRINO_UNAVAILABLE', 'cohortStats'],
    ]);
    expect(mixed.data ?? null).toBeNull();

    const restartMs = await restore(ctx, trinoService);
    const backStarted = Date.now();
    const cohortAfter = await waitFor(
      async () => {
        const r = await gw.gql<Cohort>(COHORT, vars);
        return r.errors === undefined ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'cohortStats answering after the restart' },
    );
    const fieldsBackMs = Date.now() - backStarted;
    expect(cohortAfter.data).toEqual(cohortBefore.data);
    const leaderAfter = await gw.gql<Leaderboard>(LEADERBOARD, vars);
    expect(leaderAfter.errors).toBeUndefined();
    expect(leaderAfter.data).toEqual(leaderBefore.data);
    const mixedAfter = await gw.gql<{ series: unknown; health: { name: string; ok: boolean }[] }>(MIXED, vars);
    expect(mixedAfter.errors).toBeUndefined();
    expect(mixedAfter.data?.series).toEqual(seriesBefore.data?.series);
    await waitFor(
      async () => (await gw.gql<Health>(HEALTH)).data?.health.find((h) => h.name === 'trino')?.ok === true,
      {
        timeoutMs: 15_000,
        what: 'health reporting Trino up',
      },
    );
    console.log(
      JSON.stringify({
        trinoStopMs: stopMs,
        failureLatencyMs: failures,
        trinoRestartMs: restartMs,
        fieldsBackAfterRestartMs: fieldsBackMs,
      }),
    );
  }, 240_000);
});
