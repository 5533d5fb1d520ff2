/**
 * The consumer worker process (`node --import tsx src/consumer/main.ts`, private topic and group)
 * killed with SIGKILL three times while readings keep arriving through a gateway, restarted after
 * each kill. Every tenth reading is sent a second time later with another value. Pass: the table
 * holds each unique accepted reading exactly once, with its first value, and nothing else.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { freePort, startChild, tally, type Child, type Outcome } from '../helpers/faults.js';

const INGEST = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted}}';
const KILLS = 3;
const BATCH = 20;
/** Readings arrive at a steady ~200/s (a batch each 100 ms): a live stream, not a backlog. */
const BATCH_EVERY_MS = 100;

const id = uniqueId('worker-kills');
const topics = { KAFKA_TOPIC: `${id}-ingestion`, KAFKA_DLQ_TOPIC: `${id}-dlq` };
const group = `${id}-writers`;
const userPrefix = `${id}-u`;

interface Reading {
  userId: string;
  metric: 'HEART_RATE';
  time: string;
  value: number;
}
const identity = (userId: string, time: string): string => `${userId}|${time}`;

describe('consumer worker SIGKILLed three times during a run', () => {
  const kafka = testKafka();
  const db = new pg.Pool({ connectionString: loadConfig().postgres.url, max: 2 });
  let gw: TestGateway;
  let worker: Child | undefined;

  const workerEnv = {
    ...topics,
    KAFKA_CONSUMER_GROUP: group,
    KAFKA_CONSUMER_FROM_BEGINNING: 'true',
    // Small fetches, one partition at a time: a kill lands between a batch's insert and its commit.
    CONSUMER_MAX_BYTES_PER_PARTITION: '8192',
    CONSUMER_CONCURRENCY: '1',
    CONSUMER_RETRY_INITIAL_MS: '100',
    CONSUMER_RETRY_MAX_MS: '1000',
    // The killed member's partitions move to its successor after this (the broker's minimum), not 30 s.
    CONSUMER_SESSION_TIMEOUT_MS: '6000',
  };
  const startWorker = async (n: number): Promise<Child> =>
    startChild({ name: `worker-${n}`, script: 'src/consumer/main.ts', port: await freePort(), env: workerEnv });
  const stored = async (): Promise<number> => {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE user_id LIKE $1', [
      `${userPrefix}%`,
    ]);
    return rows[0]!.n;
  };

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: topics.KAFKA_TOPIC, numPartitions: 6, replicationFactor: 1 },
          { topic: topics.KAFKA_DLQ_TOPIC, numPartitions: 1, replicationFactor: 1 },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    gw = await startGateway({ KAFKA_TOPIC: topics.KAFKA_TOPIC, RATE_LIMIT_PER_SECOND: '0', LOG_LEVEL: 'error' });
  });

  afterAll(async () => {
    await worker?.kill('SIGKILL');
    await gw?.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
    await db.query('DELETE FROM readings WHERE user_id LIKE $1', [`${userPrefix}%`]);
    await db.end();
  }, 60_000);

  it('stores each unique accepted reading exactly once, with its first value', async () => {
    const base = Date.now() - 2 * 86_400_000;
    let seq = 0;
    /** identity -> first value; filled only from mutations that answered accepted. */
    const expected = new Map<string, number>();
    const firstCopies: Reading[] = [];
    const outcomes: Outcome[] = [];
    let running = true;
    let repeatsSent = 0;

    const send = async (readings: Reading[]): Promise<boolean> => {
      const started = Date.now();
      const r = await gw.gql<{ ingestReadings: { accepted: number } }>(INGEST, { r: readings });
      const ok = r.errors === undefined && r.data?.ingestReadings.accepted === readings.length;
      outcomes.push(
        ok
          ? { kind: 'ok', ms: Date.now() - started }
          : {
              kind: 'error',
              ms: Date.now() - started,
              status: 200,
              code: r.errors?.[0]?.extensions?.code ?? 'NO_CODE',
            },
      );
      return ok;
    };
    const producer = (async () => {
      while (running) {
        const batch: Reading[] = Array.from({ length: BATCH }, () => {
          const n = seq++;
          return {
            userId: `${userPrefix}${n % 12}`,
            metric: 'HEART_RATE',
            time: new Date(base + n * 1000).toISOString(),
            value: 60 + (n % 30),
          };
        });
        // Repeats of earlier readings (same identity, another value) ride along with new ones.
        const repeats = firstCopies
          .filter((_, i) => i % 10 === 0)
          .slice(-BATCH / 4)
          .map((r) => ({ ...r, value: 150 }));
        if (await send(batch)) {
          for (const r of batch) expected.set(identity(r.userId, r.time), r.value);
          firstCopies.push(...batch);
        }
        if (repeats.length > 0 && (await send(repeats))) repeatsSent += repeats.length;
        await new Promise((r) => setTimeout(r, BATCH_EVERY_MS));
      }
    })();

    const kills: { at: number; storedAtKill: number; restartMs: number }[] = [];
    try {
      worker = await startWorker(0);
      for (let k = 1; k <= KILLS; k += 1) {
        // Kill only after this incarnation has written something, so each kill interrupts real work.
        const before = await stored();
        await waitFor(async () => (await stored()) >= before + 200, {
          timeoutMs: 30_000,
          intervalMs: 50,
          what: `worker ${k - 1} making progress`,
        });
        const exit = await worker.kill('SIGKILL');
        expect(exit.signal).toBe('SIGKILL');
        const storedAtKill = await stored();
        const restartedAt = Date.now();
        worker = await startWorker(k);
        kills.push({ at: restartedAt, storedAtKill, restartMs: Date.now() - restartedAt });
      }
      // Readings keep arriving for the last incarnation too, then stop.
      const before = await stored();
      await waitFor(async () => (await stored()) >= before + 200, {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'the last worker making progress',
      });
    } finally {
      running = false;
      await producer;
    }

    expect(tally(outcomes)).toEqual({ ok: outcomes.length });
    const started = Date.now();
    await waitFor(async () => (await stored()) >= expected.size, {
      timeoutMs: 45_000,
      intervalMs: 200,
      what: `${expected.size} unique readings stored`,
    });
    const catchUpMs = Date.now() - started;

    const { rows } = await db.query<{ user_id: string; time: Date; value: number; metric: string }>(
      'SELECT user_id, metric, time, value FROM readings WHERE user_id LIKE $1',
      [`${userPrefix}%`],
    );
    const got = new Map(rows.map((r) => [identity(r.user_id, r.time.toISOString()), r.value]));
    expect(rows).toHaveLength(expected.size);
    expect(got.size).toBe(expected.size);
    expect(new Set(rows.map((r) => r.metric))).toEqual(new Set(['heart_rate']));
    const wrong = [...expected].filter(([k, v]) => got.get(k) !== v);
    expect(wrong, 'missing or not the first value').toEqual([]);
    // Nothing went to the DLQ in any incarnation: a replayed batch is absorbed by the identity, not rejected.
    const admin = kafka.admin();
    await admin.connect();
    const dlqOffsets = await admin.fetchTopicOffsets(topics.KAFKA_DLQ_TOPIC).finally(() => admin.disconnect());
    expect(dlqOffsets.reduce((n, p) => n + Number(p.high), 0)).toBe(0);
    console.log(
      JSON.stringify({
        kills: kills.length,
        storedAtKills: kills.map((k) => k.storedAtKill),
        workerRestartMs: kills.map((k) => k.restartMs),
        mutations: outcomes.length,
        uniqueAccepted: expected.size,
        repeatsSent,
        catchUpAfterLastReadingMs: catchUpMs,
        stored: rows.length,
      }),
    );
  }, 150_000);
});
