/**
 * Two workers in one consumer group: the partitions are split between them, every reading is
 * stored once (no loss, no double rows), and stopping one hands its partitions to the other.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { createLogger } from '../../src/logger.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import {
  asMessage,
  countRows,
  createTopics,
  deleteRows,
  produce,
  reading,
  storedRows,
  testPool,
  workerConfig,
  type Topics,
} from './consumer-fixtures.js';

const kafka = testKafka();
let topics: Topics;
let pool: pg.Pool;
const workers: ConsumerWorker[] = [];
const users = Array.from({ length: 60 }, (_, i) => `${uniqueId('grp')}-${i}`);

beforeAll(async () => {
  topics = await createTopics(kafka);
  pool = testPool();
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await deleteRows(pool, users);
  await pool.end();
  await topics.remove();
});

it('shares the partitions, stores each reading once, and hands partitions over on stop', async () => {
  const group = uniqueId('g-pair');
  const make = (name: string) => {
    const config = workerConfig(topics, group);
    const w = createConsumerWorker({ config, logger: createLogger(config, name), print: () => undefined });
    workers.push(w);
    return w;
  };
  const held = (w: ConsumerWorker) => w.stats().assignments[topics.topic] ?? [];
  const all = [0, 1, 2, 3, 4, 5];

  const a = make('worker-a');
  await a.start();
  // Readings arrive while the second worker joins: the rebalance happens mid-stream.
  const wave1 = users.flatMap((u) => Array.from({ length: 50 }, (_, i) => reading(u, i)));
  const b = make('worker-b');
  await Promise.all([
    produce(
      kafka,
      topics.topic,
      wave1.map((r) => asMessage(r)),
    ),
    b.start(),
  ]);

  await waitFor(
    () => {
      const ha = held(a);
      const hb = held(b);
      return ha.length > 0 && hb.length > 0 && [...ha, ...hb].sort().join() === all.join();
    },
    { timeoutMs: 20_000, what: 'partitions split between the two workers' },
  );
  await waitFor(async () => (await countRows(pool, users)) === wave1.length, {
    timeoutMs: 20_000,
    what: 'wave 1 stored',
  });
  // A batch replayed across the rebalance shows up as duplicates, never as rows.
  await waitFor(() => a.stats().rowsInserted + b.stats().rowsInserted === wave1.length, { what: 'inserts counted' });

  // Both share the next wave: every user's partition belongs to one of them.
  const wave2 = users.flatMap((u) => Array.from({ length: 20 }, (_, i) => reading(u, 1000 + i)));
  const [a2, b2] = [a.stats().rowsInserted, b.stats().rowsInserted];
  await produce(
    kafka,
    topics.topic,
    wave2.map((r) => asMessage(r)),
  );
  await waitFor(async () => (await countRows(pool, users)) === wave1.length + wave2.length, { what: 'wave 2 stored' });
  await waitFor(() => a.stats().rowsInserted - a2 + b.stats().rowsInserted - b2 === wave2.length, {
    what: 'wave 2 counted',
  });
  expect(a.stats().rowsInserted - a2).toBeGreaterThan(0);
  expect(b.stats().rowsInserted - b2).toBeGreaterThan(0);

  // Stopping A gives its partitions to B, which stores the next wave alone.
  await a.stop();
  await waitFor(() => held(b).join() === all.join(), { timeoutMs: 20_000, what: 'B holding every partition' });
  const wave3 = users.flatMap((u) => Array.from({ length: 20 }, (_, i) => reading(u, 2000 + i)));
  const b3 = b.stats().rowsInserted;
  await produce(
    kafka,
    topics.topic,
    wave3.map((r) => asMessage(r)),
  );
  const total = wave1.length + wave2.length + wave3.length;
  await waitFor(async () => (await countRows(pool, users)) === total, {
    timeoutMs: 20_000,
    what: 'wave 3 stored by B',
  });
  await waitFor(() => b.stats().rowsInserted - b3 === wave3.length, { what: 'wave 3 counted by B' });

  const rows = await storedRows(pool, users);
  expect(rows).toHaveLength(total);
  expect(new Set(rows.map((r) => `${r.userId}|${r.metric}|${r.time}`)).size).toBe(total);
  expect(a.stats().dlq + b.stats().dlq).toBe(0);
});
