/**
 * Cluster profile: the Trino worker (the only node that runs tasks; the coordinator only plans)
 * SIGKILLed under a gateway whose result cache is off, while a client asks `cohortStats` twice a
 * second. Pass: every answer is either the right numbers or an error with a retriable code
 * (TRINO_UNAVAILABLE, or a failed query marked retriable) within the query bound, never a hang or
 * an uncoded error; once the worker runs again, `cohortStats` answers with the same numbers within
 * a bound. The seeded readings sit on a day of their own so the aggregate sees only them.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { trino as trinoService } from '../../stack/services/trino.js';
import { runningPid } from '../../stack/lib/process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { faultStackContext, restore } from '../helpers/faults.js';

const id = uniqueId('cluster-trino');
const users = [0, 1, 2].map((i) => `${id}-u${i}`);
const day = Date.UTC(1985, 0, 1) + Math.floor(Math.random() * 1500) * 86_400_000;
const vars = { from: new Date(day).toISOString(), to: new Date(day + 86_400_000).toISOString() };
const COHORT = `query($from: DateTime!, $to: DateTime!) { cohortStats(metric: STEPS, from: $from, to: $to, bucket: HOUR) { time count users } }`;
type Cohort = { cohortStats: { time: string; count: number; users: number }[] };

const QUERY_TIMEOUT_MS = 10_000;
/** From the worker's restart to the first right answer. */
const RECOVERY_BOUND_MS = 60_000;

interface Answer {
  at: number;
  ms: number;
  ok: boolean;
  code?: string;
  retriable?: boolean;
}

describe('cluster: Trino worker SIGKILLed', () => {
  const ctx = faultStackContext();
  const db = new pg.Pool({ connectionString: loadConfig().postgres.url, max: 2 });
  let gw: TestGateway;

  beforeAll(async () => {
    expect(ctx.config.stack.profile).toBe('cluster');
    const rows = users.flatMap((u, i) =>
      Array.from({ length: 4 }, (_, k) => [u, new Date(day + 10 * 3_600_000 + k * 60_000).toISOString(), i + 1]),
    );
    await db.query(
      `INSERT INTO readings (user_id, metric, time, value)
       SELECT u, 'steps', t::timestamptz, v FROM unnest($1::text[], $2::text[], $3::float8[]) AS x(u, t, v)`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
    gw = await startGateway({
      TRINO_CACHE_TTL_MS: '0',
      TRINO_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      RATE_LIMIT_PER_SECOND: '0',
      LOG_LEVEL: 'error',
    });
  });

  afterAll(async () => {
    await restore(ctx, trinoService);
    await gw?.stop();
    await db.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    await db.end();
  }, 240_000);

  it('answers with coded retriable errors while the worker is gone, and right again soon after it is back', async () => {
    const ask = async (): Promise<Answer> => {
      const at = Date.now();
      const r = await gw.gql<Cohort>(COHORT, vars);
      const ms = Date.now() - at;
      if (r.errors === undefined) {
        expect(r.data?.cohortStats.map((p) => [p.count, p.users])).toEqual([[12, 3]]);
        return { at, ms, ok: true };
      }
      const ext: { code?: string; retriable?: unknown } = r.errors[0]?.extensions ?? {};
      return { at, ms, ok: false, code: ext.code, retriable: ext.retriable === true };
    };
    expect((await ask()).ok).toBe(true);

    const answers: Answer[] = [];
    let running = true;
    const asker = (async () => {
      while (running) {
        answers.push(await ask());
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    try {
      const pid = runningPid(ctx.paths, 'trino-worker');
      expect(pid, 'the cluster runs a Trino worker').toBeDefined();
      const killedAt = Date.now();
      process.kill(pid!, 'SIGKILL');
      await waitFor(() => runningPid(ctx.paths, 'trino-worker') === undefined, { what: 'the worker gone' });
      // The coordinator notices: queries fail (no node to run them) rather than hang.
      await waitFor(() => answers.filter((a) => a.at > killedAt && !a.ok).length >= 3, {
        timeoutMs: 60_000,
        what: 'three failed answers with the worker gone',
      });
      const restartedAt = Date.now();
      const restartMs = await restore(ctx, trinoService);
      const recovered = await waitFor(() => answers.find((a) => a.at > restartedAt && a.ok), {
        timeoutMs: RECOVERY_BOUND_MS,
        intervalMs: 250,
        what: 'cohortStats right again',
      });
      running = false;
      await asker;
      const during = answers.filter((a) => a.at > killedAt && a.at < recovered.at);
      const failed = during.filter((a) => !a.ok);
      const codes: Record<string, number> = {};
      for (const a of failed) {
        const key = `${a.code}${a.retriable ? ' (retriable)' : ''}`;
        codes[key] = (codes[key] ?? 0) + 1;
      }
      console.log(
        JSON.stringify({
          fault: 'trino worker SIGKILL',
          answers: answers.length,
          failedWhileDown: failed.length,
          codes,
          slowestFailureMs: Math.max(0, ...failed.map((a) => a.ms)),
          workerRestartMs: restartMs,
          rightAgainAfterRestartMs: recovered.at + recovered.ms - restartedAt,
          rightAgainAfterKillMs: recovered.at + recovered.ms - killedAt,
        }),
      );
      for (const a of failed) {
        expect(a.code, JSON.stringify(a)).toMatch(/^TRINO_/);
        expect(a.retriable, JSON.stringify(a)).toBe(true);
        expect(a.ms, JSON.stringify(a)).toBeLessThanOrEqual(QUERY_TIMEOUT_MS + 3000);
      }
      expect(recovered.at + recovered.ms - restartedAt).toBeLessThan(RECOVERY_BOUND_MS);
    } finally {
      running = false;
      await asker;
    }
  }, 240_000);
});
