/**
 * A rebalance while a worker holds fetched batches it has not stored yet. The worker fetches on
 * while Postgres writes, so at a rebalance its lanes hold batches whose offsets kafkajs has
 * resolved and the worker has not committed. Here every write of the first worker is held back
 * (its rollup upsert waits on a rollup row this test inserted and has not committed), a second
 * worker joins, and only then are the writes let go. Pass: every reading stored exactly once, the
 * rollup equal to the stored readings, the inserts counted once over both workers, and the group's
 * committed offsets at the end of every partition.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { createLogger } from '../../src/logger.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import {
  asMessage,
  base,
  countRows,
  createTopics,
  deleteRows,
  produce,
  reading,
  storedRows,
  testPool,
  workerConfig,
  type Topics,
  committedTotal,
  rollupMismatches,
} from './consumer-fixtures.js';

const kafka = testKafka();
let topics: Topics;
let pool: pg.Pool;
let blocker: pg.PoolClient | undefined;
const workers: ConsumerWorker[] = [];
const users = Array.from({ length: 30 }, (_, i) => `${uniqueId('rebal')}-${i}`);
/** The fixtures' readings 0..59 of a user fall in one minute: 2026-01-01T00:00Z. */
const MINUTE = '2026-01-01T00:00:00.000Z';
const PER_USER = 60;
/** The workers' sessions, told apart from other writers on the same database. */
const appName = uniqueId('consumer-rebalance');

beforeAll(async () => {
  topics = await createTopics(kafka);
  pool = testPool();
});

afterAll(async () => {
  await blocker?.query('ROLLBACK').catch(() => undefined);
  blocker?.release();
  await Promise.all(workers.map((w) => w.stop()));
  await deleteRows(pool, users);
  await pool.end();
  await topics.remove();
});

it('stores each reading once when the group rebalances while writes are pending', async () => {
  const group = uniqueId('g-rebal');
  const make = (name: string) => {
    // Small fetches: each partition's backlog comes in several batches, so lanes fill.
    const url = new URL(base.postgres.url);
    url.searchParams.set('application_name', appName);
    const config = workerConfig(topics, group, {
      CONSUMER_MAX_BYTES_PER_PARTITION: '4096',
      DATABASE_URL: url.toString(),
    });
    const w = createConsumerWorker({ config, logger: createLogger(config, name), print: () => undefined });
    workers.push(w);
    return w;
  };
  const held = (w: ConsumerWorker) => w.stats().assignments[topics.topic] ?? [];

  // Holds every write of these users: an uncommitted rollup row for each user's minute makes the
  // trigger's upsert of that minute wait for this transaction.
  blocker = await pool.connect();
  await blocker.query('BEGIN');
  await blocker.query(
    `INSERT INTO readings_minute (user_id, metric, minute, count, sum, min, max)
     SELECT u, 'heart_rate', $2::timestamptz, 0, 0, 0, 0 FROM unnest($1::text[]) AS u`,
    [users, MINUTE],
  );

  const all = users.flatMap((u) => Array.from({ length: PER_USER }, (_, i) => reading(u, i)));
  // Small requests: one record batch per request and partition, so small fetches hold few readings.
  await produce(
    kafka,
    topics.topic,
    all.map((r) => asMessage(r)),
    60,
  );

  const a = make('rebal-a');
  await a.start();
  // A has fetched and queued batches it cannot store yet.
  await waitFor(
    async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity s USING (pid)
         WHERE NOT l.granted AND s.application_name = $1`,
        [appName],
      );
      return rows[0]!.n > 0;
    },
    { timeoutMs: 20_000, what: 'a write of worker A waiting on the held rollup row' },
  );
  expect(await countRows(pool, users)).toBe(0);

  const b = make('rebal-b');
  await b.start();
  await waitFor(() => held(a).length > 0 && held(b).length > 0 && held(a).length + held(b).length === 6, {
    timeoutMs: 30_000,
    what: 'partitions split between the two workers',
  });

  await blocker.query('ROLLBACK');
  blocker.release();
  blocker = undefined;

  await waitFor(async () => (await countRows(pool, users)) === all.length, { timeoutMs: 30_000, what: 'all stored' });
  await waitFor(() => a.stats().rowsInserted + b.stats().rowsInserted === all.length, {
    timeoutMs: 20_000,
    what: 'inserts counted once over both workers',
  });
  await waitFor(async () => (await committedTotal(kafka, group, topics.topic)) === all.length, {
    timeoutMs: 30_000,
    what: 'the group committed to the end of every partition',
  });

  const rows = await storedRows(pool, users);
  expect(rows).toHaveLength(all.length);
  expect(new Set(rows.map((r) => `${r.userId}|${r.metric}|${r.time}`)).size).toBe(all.length);
  expect(await rollupMismatches(pool, users)).toEqual([]);
  expect(a.stats().dlq + b.stats().dlq).toBe(0);
});
