/**
 * The Trino worker SIGKILLed under a gateway that keeps asking for `cohortStats` (result cache
 * off), then started again. The coordinator only plans (node-scheduler.include-coordinator=false),
 * so while the worker is gone no query can run. Pass: every answer is either the right figures or
 * a coded retriable error (TRINO_UNAVAILABLE or TRINO_TIMEOUT), none slower than the query timeout
 * plus slack; once the worker is back the right figures return within a bound. The times are printed.
 */
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { activeTrinoWorkers, startTrinoNode, trinoNodes } from '../../stack/services/trino.js';
import { runningPid } from '../../stack/lib/process.js';
import type { StackContext } from '../../stack/lib/service.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { useCluster } from './cluster.js';

const id = uniqueId('trino-worker');
const users = [0, 1, 2].map((i) => `${id}-u${i}`);
// A day of the 1980s of its own: other files seed later years.
const day = Date.UTC(1980, 0, 1) + Math.floor(Math.random() * 3650) * 86_400_000;
const vars = { from: new Date(day).toISOString(), to: new Date(day + 86_400_000).toISOString() };
const COHORT = `query($from: DateTime!, $to: DateTime!) { cohortStats(metric: STEPS, from: $from, to: $to, bucket: HOUR) { time count users } }`;
type Cohort = { cohortStats: { time: string; count: number; users: number }[] };

const QUERY_TIMEOUT_MS = 10_000;
const SLACK_MS = 3_000;
/** From the worker's start to the first right answer: a Trino JVM takes 20-90 s to start on 2 busy cores. */
const RECOVERY_BOUND_MS = 240_000;

interface Answer {
  at: number;
  ms: number;
  ok: boolean;
  code?: string;
  retriable?: boolean;
}

describe('the Trino worker killed', () => {
  let ctx: StackContext;
  let gw: TestGateway;
  const db = new pg.Pool({ connectionString: loadConfig().postgres.url, max: 2 });
  const worker = () => trinoNodes(loadConfig()).find((n) => !n.coordinator)!;

  beforeAll(async () => {
    ctx = await useCluster();
    expect(ctx.config.trino.workers).toBe(1);
    // users[i]: 10 readings in hour 10, 5 in hour 11.
    const rows: [string, string, number][] = [];
    users.forEach((u, i) => {
      for (let k = 0; k < 10; k += 1) rows.push([u, new Date(day + 10 * 3_600_000 + k * 60_000).toISOString(), i + 1]);
      for (let k = 0; k < 5; k += 1) rows.push([u, new Date(day + 11 * 3_600_000 + k * 60_000).toISOString(), 1]);
    });
    await db.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT u, 'steps', t::timestamptz, v FROM unnest($1::text[], $2::text[], $3::float8[]) AS x(u, t, v)`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
    gw = await startGateway({
      TRINO_CACHE_TTL_MS: '0',
      TRINO_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      RATE_LIMIT_PER_SECOND: '0',
      LAKE_ENABLED: 'false',
      LOG_LEVEL: 'error',
    });
  });

  afterAll(async () => {
    startTrinoNode(ctx, worker());
    await waitFor(async () => (await activeTrinoWorkers(ctx.config.trino.server).catch(() => 0)) >= 1, {
      timeoutMs: 180_000,
      what: 'the Trino worker active again',
    }).catch(() => undefined);
    await gw?.stop();
    await db.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    await db.end();
  }, 240_000);

  it('answers right or with a coded retriable error, and right again once the worker is back', async () => {
    const expected = [
      [30, 3],
      [15, 3],
    ];
    const ask = async (): Promise<Answer> => {
      const at = Date.now();
      const r = await gw.gql<Cohort>(COHORT, vars);
      const ms = Date.now() - at;
      const error = r.errors?.[0];
      if (error === undefined) {
        expect(r.data?.cohortStats.map((p) => [p.count, p.users])).toEqual(expected);
        return { at, ms, ok: true };
      }
      return {
        at,
        ms,
        ok: false,
        code: String(error.extensions?.code),
        retriable: error.extensions?.retriable === true,
      };
    };
    const first = await ask();
    expect(first, JSON.stringify(first)).toMatchObject({ ok: true });

    const answers: Answer[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        answers.push(await ask());
        await sleep(250);
      }
    })();
    try {
      await sleep(2_000);
      const killedAt = Date.now();
      process.kill(runningPid(ctx.paths, worker().name)!, 'SIGKILL');
      await waitFor(() => answers.some((a) => a.at > killedAt && !a.ok), {
        timeoutMs: 60_000,
        what: 'a query refused while the worker is gone',
      });
      await sleep(5_000);
      const restartedAt = Date.now();
      startTrinoNode(ctx, worker());
      await waitFor(() => answers.filter((a) => a.at > restartedAt && a.ok).length >= 3, {
        timeoutMs: RECOVERY_BOUND_MS,
        what: 'three right answers after the worker restarted',
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}; last answers ${JSON.stringify(answers.slice(-5))}`);
      });
      running = false;
      await loop;

      const firstFailure = answers.find((a) => a.at > killedAt && !a.ok)!;
      const firstOkAfter = answers.find((a) => a.at > restartedAt && a.ok)!;
      const failures = answers.filter((a) => !a.ok);
      const codes: Record<string, number> = {};
      for (const f of failures) codes[f.code!] = (codes[f.code!] ?? 0) + 1;
      console.log(
        `[cluster] trino worker ${JSON.stringify({
          answers: answers.length,
          refused: failures.length,
          codes,
          firstRefusalAfterKillMs: firstFailure.at + firstFailure.ms - killedAt,
          slowestRefusalMs: Math.max(...failures.map((f) => f.ms)),
          rightAgainAfterRestartMs: firstOkAfter.at + firstOkAfter.ms - restartedAt,
        })}`,
      );
      for (const f of failures) {
        expect(['TRINO_UNAVAILABLE', 'TRINO_TIMEOUT'], JSON.stringify(f)).toContain(f.code);
        expect(f.retriable, JSON.stringify(f)).toBe(true);
        expect(f.ms, JSON.stringify(f)).toBeLessThanOrEqual(QUERY_TIMEOUT_MS + SLACK_MS);
      }
    } finally {
      running = false;
      await loop;
    }
  }, 300_000);
});
