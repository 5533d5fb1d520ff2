/**
 * Cluster profile: the cluster's own Postgres (a private server, initdb and pg_ctl from the
 * machine's PostgreSQL packages, on its own port and data folder) stopped with `pg_ctl -m fast`
 * under continuous ingest, kept down for a while, and started again. Meanwhile a client reads
 * `series` through the gateway. Pass: ingest never notices (Kafka holds the readings); the worker
 * loses nothing: every acknowledged reading ends up in the table exactly once; reads fail only with
 * DATABASE_UNAVAILABLE (retriable) while the server is down and answer again soon after it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgres as postgresService, stopOwnPostgres } from '../../stack/services/postgres.js';
import { runningPid } from '../../stack/lib/process.js';
import { faultStackContext, restore } from '../helpers/faults.js';
import { waitFor } from '../helpers/wait.js';
import { IngestLoad, startPipeline, verify, type Pipeline } from './pipeline.js';

const DOWN_MS = 15_000;
/** From the server's restart to the first right read. */
const READ_RECOVERY_BOUND_MS = 30_000;

interface Read {
  at: number;
  ms: number;
  ok: boolean;
  code?: string;
  retriable?: boolean;
}

describe("cluster: the cluster's Postgres restarted under ingest", () => {
  const ctx = faultStackContext();
  let p: Pipeline;

  beforeAll(async () => {
    expect(ctx.config.stack.profile).toBe('cluster');
    expect(runningPid(ctx.paths, 'postgres'), 'the cluster runs a Postgres of its own').toBeDefined();
    p = await startPipeline('cluster-pg');
  });

  afterAll(async () => {
    await restore(ctx, postgresService);
    await p?.stop();
  }, 180_000);

  it('loses no reading and answers reads again once the server is back', async () => {
    const load = new IngestLoad(p.gw.url, p.userPrefix);
    const reads: Read[] = [];
    let reading = true;
    const user = `${p.userPrefix}0`;
    // The load's readings lie three days back: a week around now covers them, by day.
    const SERIES = `query($u: ID!, $from: DateTime!, $to: DateTime!) { series(userId: $u, metric: HEART_RATE, from: $from, to: $to, bucket: DAY) { count } }`;
    const range = {
      from: new Date(Date.now() - 5 * 86_400_000).toISOString(),
      to: new Date(Date.now() + 86_400_000).toISOString(),
    };
    const reader = (async () => {
      while (reading) {
        const at = Date.now();
        const r = await p.gw.gql(SERIES, { u: user, ...range });
        const ext: { code?: string; retriable?: unknown } = r.errors?.[0]?.extensions ?? {};
        reads.push({
          at,
          ms: Date.now() - at,
          ok: r.errors === undefined,
          code: ext.code,
          retriable: ext.retriable === true,
        });
        await new Promise((res) => setTimeout(res, 500));
      }
    })();
    load.start();
    try {
      await waitFor(() => load.acknowledged().length >= 300, { timeoutMs: 60_000, what: '300 readings acknowledged' });
      const stoppedAt = Date.now();
      await stopOwnPostgres(ctx, 'fast');
      await new Promise((r) => setTimeout(r, DOWN_MS));
      const restartedAt = Date.now();
      const restartMs = await restore(ctx, postgresService);
      const readBack = await waitFor(() => reads.find((r) => r.at > restartedAt && r.ok), {
        timeoutMs: READ_RECOVERY_BOUND_MS,
        intervalMs: 250,
        what: 'series answering again',
      });
      const acksAtRestart = load.acknowledged().length;
      await waitFor(() => load.acknowledged().length >= acksAtRestart + 200, { what: 'ingest going on' });
      await load.stop();
      reading = false;
      await reader;
      const verdict = await verify(p, load);
      const failedReads = reads.filter((r) => !r.ok);
      console.log(
        JSON.stringify({
          fault: 'postgres stop (pg_ctl -m fast) and start',
          downMs: restartedAt - stoppedAt,
          serverRestartMs: restartMs,
          readsAnsweredAgainAfterRestartMs: readBack.at + readBack.ms - restartedAt,
          reads: reads.length,
          failedReads: failedReads.length,
          ingestStallMs: load.stallMs(stoppedAt, Date.now()),
          ...verdict,
        }),
      );
      // Ingest goes to Kafka, not to Postgres: no mutation failed at all.
      expect(load.mutations.filter((m) => m.failures.length > 0)).toEqual([]);
      expect(verdict.lostOnTopic).toBe(0);
      expect(verdict.lostInTable).toBe(0);
      expect(verdict.duplicatedOnTopic).toBe(0);
      expect(verdict.duplicatedInTable).toBe(0);
      expect(failedReads.length, 'reads failed while the server was down').toBeGreaterThan(0);
      for (const r of failedReads) {
        expect(r.code, JSON.stringify(r)).toBe('DATABASE_UNAVAILABLE');
        expect(r.retriable, JSON.stringify(r)).toBe(true);
      }
      expect(readBack.at + readBack.ms - restartedAt).toBeLessThan(READ_RECOVERY_BOUND_MS);
    } finally {
      reading = false;
      await load.stop();
      await reader;
    }
  }, 300_000);
});
