/**
 * The stack's private Postgres restarted twice under a running pipeline: once stopped by the stack
 * (fast shutdown) and once SIGKILLed (crash recovery at the next start). A consumer worker and a
 * gateway run as child processes on a private topic; readings arrive through the gateway all the
 * time and a reader keeps asking the gateway for a `series` (a Postgres read).
 *
 * Pass: every reading the gateway acknowledged is in `readings` exactly once with its value (the
 * worker loses nothing and duplicates nothing); ingest never fails (it does not touch Postgres);
 * while Postgres is down the reads fail with DATABASE_UNAVAILABLE marked retriable, never a hang or
 * a crash, and they answer again within a bound once Postgres is back. The outage and recovery
 * times are printed.
 *
 * Only a Postgres that this stack started (the private server of stack/services/postgres.ts) is
 * ever restarted: when DATABASE_URL reaches any other server (the machine's shared one) the file
 * is skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bringUp } from '../../stack/lib/context.js';
import { runningPid } from '../../stack/lib/process.js';
import { postgres as postgresService } from '../../stack/services/postgres.js';
import { createTopics, deleteTopics, privateTopics, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { freePort, networkCause, startChild, type Child } from '../helpers/faults.js';
import { useCluster } from './cluster.js';

// The whole cluster, Postgres included (a private server when nothing answers at the profile's
// DATABASE_URL; nothing when a server answers), then decide.
const ctx = await useCluster();
const pidAtLoad = runningPid(ctx.paths, 'postgres');
const SKIP_REASON =
  'skipped: DATABASE_URL reaches a Postgres this stack did not start (a shared server is never restarted); ' +
  'run with a DATABASE_URL on a free loopback port so that the stack starts a private one';
if (pidAtLoad === undefined) console.warn(`postgres-restart: ${SKIP_REASON}`);

const INGEST = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted}}';
const SERIES =
  'query($u:ID!,$f:DateTime!,$t:DateTime!){series(userId:$u,metric:HEART_RATE,from:$f,to:$t,bucket:HOUR){time count}}';
const BATCH = 10;
/** About 100 readings/s: a live stream, so the worker has work in flight at each stop. */
const BATCH_EVERY_MS = 100;
const READ_EVERY_MS = 200;
/** A client's bound on one request: reaching it counts as a hang. */
const REQUEST_BOUND_MS = 10_000;
/** How long Postgres stays down: long enough for several failed reads and worker retries. */
const MIN_OUTAGE_MS = 4000;
/** Reads must answer again within this after the restarted server accepts connections. */
const READ_RECOVERY_BOUND_MS = 10_000;
/** The worker must store new readings within this after the restart. */
const WORKER_RECOVERY_BOUND_MS = 30_000;

const id = uniqueId('pg-restart');
const topics = privateTopics(id);
const group = `${id}-writers`;
const userPrefix = `${id}-u`;

interface Reading {
  userId: string;
  metric: 'HEART_RATE';
  time: string;
  value: number;
}
type Outcome =
  | { kind: 'ok' }
  | { kind: 'error'; code: string; retriable: unknown }
  | { kind: 'network'; cause: string }
  | { kind: 'timeout' };
interface Request {
  at: number;
  done: number;
  outcome: Outcome;
}
interface Restart {
  how: 'stop' | 'SIGKILL';
  /** The stop or kill was issued. */
  stopAt: number;
  /** The server process was gone. */
  downAt: number;
  /** The start was issued, and the server accepted connections again. */
  startAt: number;
  upAt: number;
  /** The worker stored a reading again (first poll that saw the count grow). */
  storingAt: number;
}

const identity = (userId: string, time: string): string => `${userId}|${time}`;
const label = (o: Outcome): string =>
  o.kind === 'ok' ? 'ok' : o.kind === 'error' ? o.code : o.kind === 'network' ? o.cause : 'timeout';
const tally = (rs: Request[]): Record<string, number> =>
  rs.reduce<Record<string, number>>((acc, r) => ({ ...acc, [label(r.outcome)]: (acc[label(r.outcome)] ?? 0) + 1 }), {});

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The server's child processes (backends, checkpointer...): they outlive a SIGKILLed postmaster briefly. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(pidAtLoad === undefined)('private Postgres restarted under ingest and reads', () => {
  const kafka = testKafka();
  const db = new pg.Pool({ connectionString: ctx.config.postgres.url, max: 2 });
  // The pool's idle connections die with the server; without a listener that would crash vitest.
  db.on('error', () => undefined);
  let worker: Child | undefined;
  let gateway: Child | undefined;

  const env = {
    ...topics,
    KAFKA_CONSUMER_GROUP: group,
    KAFKA_CONSUMER_FROM_BEGINNING: 'true',
    CONSUMER_RETRY_INITIAL_MS: '100',
    CONSUMER_RETRY_MAX_MS: '1000',
    AUTH_MODE: 'development',
    RATE_LIMIT_PER_SECOND: '0',
    GRAPHIQL: 'false',
    // The lake's tierer works through Trino and S3, which this file does not test: kept out of the way.
    LAKE_ENABLED: 'false',
    FLINK_HEARTBEAT_INTERVAL_MS: '0',
  };

  const stored = async (): Promise<number> => {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE user_id LIKE $1', [
      `${userPrefix}%`,
    ]);
    return rows[0]!.n;
  };

  beforeAll(async () => {
    await createTopics(kafka, Object.values(topics), 6);
    // The worker applies the migrations to the private database before it consumes.
    // Generous bounds: on a loaded 2-core machine a tsx process takes tens of seconds to be ready.
    const readyTimeoutMs = 90_000;
    const port = await freePort();
    worker = await startChild({ name: 'worker', script: 'src/consumer/main.ts', port, env, readyTimeoutMs });
    gateway = await startChild({
      name: 'gateway',
      script: 'src/gateway/main.ts',
      port: await freePort(),
      env,
      readyTimeoutMs,
    });
  }, 200_000);

  afterAll(async () => {
    // Whatever happened, leave the private server running as the stack expects it.
    await bringUp(ctx, postgresService);
    await gateway?.kill('SIGTERM');
    await worker?.kill('SIGTERM');
    await deleteTopics(kafka, Object.values(topics));
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
    await db.query('DELETE FROM readings WHERE user_id LIKE $1', [`${userPrefix}%`]).catch(() => undefined);
    await db.end();
  }, 120_000);

  it('loses no acknowledged reading, fails reads with a retriable code meanwhile, and recovers them', async () => {
    const url = `${gateway!.base}/graphql`;
    const request = async (body: unknown): Promise<Request> => {
      const at = Date.now();
      let outcome: Outcome;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_BOUND_MS),
        });
        const json = (await res.json()) as { errors?: { extensions?: { code?: string; retriable?: unknown } }[] };
        const first = json.errors?.[0]?.extensions;
        outcome =
          res.ok && json.errors === undefined
            ? { kind: 'ok' }
            : { kind: 'error', code: first?.code ?? 'NO_CODE', retriable: first?.retriable };
      } catch (err) {
        outcome =
          (err as Error).name === 'TimeoutError' ? { kind: 'timeout' } : { kind: 'network', cause: networkCause(err) };
      }
      return { at, done: Date.now(), outcome };
    };

    const base = Date.now() - 86_400_000;
    const expected = new Map<string, number>();
    const mutations: Request[] = [];
    const reads: Request[] = [];
    let running = true;
    let seq = 0;
    const ingestLoop = (async () => {
      while (running) {
        const readings: Reading[] = Array.from({ length: BATCH }, () => {
          const n = seq++;
          return {
            userId: `${userPrefix}${n % 8}`,
            metric: 'HEART_RATE',
            time: new Date(base + n * 1000).toISOString(),
            value: 50 + (n % 100),
          };
        });
        const r = await request({ query: INGEST, variables: { r: readings } });
        mutations.push(r);
        if (r.outcome.kind === 'ok') for (const x of readings) expected.set(identity(x.userId, x.time), x.value);
        await new Promise((res) => setTimeout(res, BATCH_EVERY_MS));
      }
    })();
    const readLoop = (async () => {
      while (running) {
        const variables = { u: `${userPrefix}0`, f: new Date(base).toISOString(), t: new Date().toISOString() };
        reads.push(await request({ query: SERIES, variables }));
        await new Promise((res) => setTimeout(res, READ_EVERY_MS));
      }
    })();

    const restarts: Restart[] = [];
    /** Waits until the worker stored 100 more readings; returns when it stored the first of them. */
    const progress = async (what: string): Promise<number> => {
      const before = await waitFor(() => stored().catch(() => undefined), { timeoutMs: 30_000, what: 'a count' });
      let firstAt: number | undefined;
      await waitFor(
        async () => {
          const n = await stored();
          if (n > before) firstAt ??= Date.now();
          return n >= before + 100;
        },
        { timeoutMs: WORKER_RECOVERY_BOUND_MS, intervalMs: 100, what },
      );
      return firstAt!;
    };
    const failedReadsSince = (t: number): number => reads.filter((r) => r.at >= t && r.outcome.kind !== 'ok').length;
    try {
      await progress('the worker storing readings before any restart');
      for (const how of ['stop', 'SIGKILL'] as const) {
        const pid = runningPid(ctx.paths, 'postgres');
        expect(pid, 'the private Postgres is running').toBeDefined();
        const stopAt = Date.now();
        if (how === 'stop') {
          await postgresService.stop!(ctx);
        } else {
          const children = childrenOf(pid!);
          process.kill(pid!, 'SIGKILL');
          // A new server refuses to start while the old one's processes still hold its shared memory.
          await waitFor(() => [pid!, ...children].every((p) => !alive(p)), {
            timeoutMs: 30_000,
            what: 'the killed server and its processes to exit',
          });
        }
        const downAt = Date.now();
        await waitFor(() => Date.now() - stopAt >= MIN_OUTAGE_MS && failedReadsSince(stopAt) >= 3, {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: 'reads failing while Postgres is down',
        });
        const startAt = Date.now();
        await bringUp(ctx, postgresService);
        const upAt = Date.now();
        const storingAt = await progress(`the worker storing readings after the ${how} restart`);
        restarts.push({ how, stopAt, downAt, startAt, upAt, storingAt });
        await waitFor(() => reads.some((r) => r.at >= upAt && r.outcome.kind === 'ok'), {
          timeoutMs: READ_RECOVERY_BOUND_MS + REQUEST_BOUND_MS,
          intervalMs: 100,
          what: 'a read to answer after the restart',
        });
      }
    } finally {
      running = false;
      await Promise.all([ingestLoop, readLoop]);
    }

    // Ingest goes to Kafka only: a Postgres outage never fails it.
    expect(tally(mutations)).toEqual({ ok: mutations.length });
    // Reads: answers, or a coded retriable error; never a hang, a dropped connection or a masked error.
    const failures = reads.filter((r) => r.outcome.kind !== 'ok');
    expect(new Set(failures.map((r) => label(r.outcome)))).toEqual(new Set(['DATABASE_UNAVAILABLE']));
    expect(failures.every((r) => r.outcome.kind === 'error' && r.outcome.retriable === true)).toBe(true);
    expect(Math.max(...reads.map((r) => r.done - r.at))).toBeLessThan(REQUEST_BOUND_MS);

    const figures = restarts.map((s, i) => {
      const until = restarts[i + 1]?.stopAt ?? Number.POSITIVE_INFINITY;
      const during = reads.filter((r) => r.at >= s.stopAt && r.at < s.upAt);
      const firstOk = reads.find((r) => r.at >= s.upAt && r.outcome.kind === 'ok')!;
      const lastFailure = reads.filter((r) => r.outcome.kind !== 'ok' && r.at >= s.stopAt && r.at < until).at(-1);
      return {
        how: s.how,
        stopMs: s.downAt - s.stopAt,
        outageMs: s.upAt - s.stopAt,
        startMs: s.upAt - s.startAt,
        readsDuring: tally(during),
        slowestFailedReadMs: Math.max(0, ...during.filter((r) => r.outcome.kind !== 'ok').map((r) => r.done - r.at)),
        readsRecoveredAfterUpMs: firstOk.done - s.upAt,
        readsFailedForMs: lastFailure ? lastFailure.done - s.stopAt : 0,
        workerStoringAfterUpMs: s.storingAt - s.upAt,
      };
    });
    for (const f of figures) {
      expect(f.readsDuring.DATABASE_UNAVAILABLE ?? 0, `${f.how}: reads failed while down`).toBeGreaterThan(0);
      expect(f.readsRecoveredAfterUpMs, `${f.how}: reads answer again`).toBeLessThan(READ_RECOVERY_BOUND_MS);
    }

    // The worker lost nothing and duplicated nothing.
    const catchUpStarted = Date.now();
    await waitFor(async () => (await stored()) >= expected.size, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: `${expected.size} acknowledged readings stored`,
    });
    const catchUpMs = Date.now() - catchUpStarted;
    const { rows } = await db.query<{ user_id: string; time: Date; value: number; n: number }>(
      `SELECT user_id, time, min(value) AS value, count(*)::int AS n FROM readings
        WHERE user_id LIKE $1 AND metric = 'heart_rate' GROUP BY user_id, time`,
      [`${userPrefix}%`],
    );
    const got = new Map(rows.map((r) => [identity(r.user_id, r.time.toISOString()), r.value]));
    expect(
      rows.filter((r) => r.n !== 1),
      'stored more than once',
    ).toEqual([]);
    expect(await stored()).toBe(expected.size);
    expect(
      [...expected].filter(([k, v]) => got.get(k) !== v),
      'missing or wrong',
    ).toEqual([]);
    expect(worker!.running(), `the worker survived:\n${worker!.output()}`).toBe(true);
    // The worker met the outages and retried its batches; none of them went to the DLQ.
    const metrics = await (await fetch(`${worker!.base}/metrics`)).text();
    const dbRetries = Number(
      /^fitbit_consumer_retries_total\{[^}]*what="database"[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0,
    );
    expect(
      dbRetries,
      metrics
        .split('\n')
        .filter((l) => l.includes('retries'))
        .join('\n'),
    ).toBeGreaterThan(0);
    const admin = kafka.admin();
    await admin.connect();
    const dlq = await admin.fetchTopicOffsets(topics.KAFKA_DLQ_TOPIC).finally(() => admin.disconnect());
    expect(dlq.reduce((n, p) => n + Number(p.high), 0)).toBe(0);
    expect(gateway!.running(), `the gateway survived:\n${gateway!.output()}`).toBe(true);

    console.log(
      JSON.stringify({
        restarts: figures,
        mutations: mutations.length,
        acknowledged: expected.size,
        stored: rows.length,
        reads: tally(reads),
        workerDatabaseRetries: dbRetries,
        catchUpAfterLastReadingMs: catchUpMs,
      }),
    );
  }, 240_000);
});
