/**
 * The worker process killed with SIGKILL mid-stream (no clean stop, nothing committed at the
 * end) and started again: the table holds every unique reading exactly once, with the first
 * value of each identity, because offsets trail the database commit and the identity absorbs
 * the replay.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { createLogger } from '../../src/logger.js';
import { createConsumerWorker } from '../../src/consumer/worker.js';
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
  workerEnv,
  type Topics,
} from './consumer-fixtures.js';

const kafka = testKafka();
const ROOT = resolve(import.meta.dirname, '..', '..');
let topics: Topics;
let pool: pg.Pool;
let child: ChildProcess | undefined;
const users = Array.from({ length: 30 }, (_, i) => `${uniqueId('crash')}-${i}`);

beforeAll(async () => {
  topics = await createTopics(kafka);
  pool = testPool();
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await deleteRows(pool, users);
  await pool.end();
  await topics.remove();
});

it('stores every unique reading exactly once across a SIGKILL and a restart', async () => {
  const PER_USER = 500;
  const originals = users.flatMap((u) => Array.from({ length: PER_USER }, (_, i) => reading(u, i, { value: 80 })));
  // Every tenth reading is sent again later with another value: a duplicate, never a second row.
  const repeats = originals.filter((_, i) => i % 10 === 0).map((r) => ({ ...r, value: 150 }));
  await produce(
    kafka,
    topics.topic,
    [...originals, ...repeats].map((r) => asMessage(r)),
    // Small record batches, so that the small fetches below hold a few readings each.
    100,
  );
  const unique = originals.length;

  const group = uniqueId('g-crash');
  // Small fetches and one partition at a time make the stream long enough to kill it halfway.
  const env = workerEnv(topics, group, { CONSUMER_MAX_BYTES_PER_PARTITION: '2048', CONSUMER_CONCURRENCY: '1' });
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/consumer/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes(`Listening to Kafka topic: ${topics.topic}...`), {
    timeoutMs: 30_000,
    what: 'worker process listening',
  });

  await waitFor(async () => (await countRows(pool, users)) >= unique / 5, {
    timeoutMs: 30_000,
    intervalMs: 20,
    what: 'a fifth stored',
  });
  proc.kill('SIGKILL');
  await new Promise<void>((r) =>
    proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r()),
  );
  const storedAtKill = await countRows(pool, users);
  expect(proc.signalCode).toBe('SIGKILL');
  expect(storedAtKill, 'the kill came before the end of the stream').toBeLessThan(unique);

  const config = workerConfig(topics, group);
  const worker = createConsumerWorker({
    config,
    logger: createLogger(config, 'consumer-restart'),
    print: () => undefined,
  });
  await worker.start();
  try {
    // Generous: after a SIGKILL the group first waits out the dead member's session, and on a
    // loaded 2-core machine the rebalance and replay can take a while; correctness is what counts.
    await waitFor(async () => (await countRows(pool, users)) === unique, {
      timeoutMs: 90_000,
      what: 'every unique reading stored',
    }).catch((err: Error) => {
      throw new Error(`${err.message}; restarted worker: ${JSON.stringify(worker.stats())}`);
    });
    // Everything left, including the repeats, has been read and committed: the group's committed
    // offsets reach the end of every partition. (Counting the restarted worker's rows would race
    // with whatever the killed one stored and committed between the count and the kill.)
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const end = await admin.fetchTopicOffsets(topics.topic);
          const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topics.topic] });
          const at = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
          return end.every((p) => at.get(p.partition) === p.high);
        },
        { timeoutMs: 60_000, what: 'the group committed to the end of the topic' },
      );
    } finally {
      await admin.disconnect();
    }
    expect(worker.stats().dlq).toBe(0);
  } finally {
    await worker.stop();
  }
  const rows = await storedRows(pool, users);
  expect(rows).toHaveLength(unique);
  expect(new Set(rows.map((r) => r.value))).toEqual(new Set([80]));
  expect(new Set(rows.map((r) => `${r.userId}|${r.metric}|${r.time}`)).size).toBe(unique);
}, 200_000);
