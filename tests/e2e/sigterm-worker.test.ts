/**
 * SIGTERM to a consumer worker process mid-run: it exits 0, every message below the offsets it
 * committed is in the table, and a worker started afterwards in the same group stores the rest:
 * nothing committed is missing and nothing is skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { countRows, createTopics, testPool, workerEnv, type Topics } from '../integration/consumer-fixtures.js';
import { exited, freePort } from '../helpers/process.js';

const PARTITIONS = 6;
const PER_PARTITION = 4000;
const T0 = Date.UTC(2026, 0, 1);

describe('SIGTERM to the consumer worker', () => {
  const kafka = testKafka();
  const pool = testPool();
  const group = uniqueId('sigterm-writer');
  const run = uniqueId('sigterm-w');
  // One user per partition, sent to that partition explicitly: offset i of partition p is reading i of user p.
  const users = Array.from({ length: PARTITIONS }, (_, p) => `${run}-p${p}`);
  let topics: Topics;
  const children: ChildProcess[] = [];

  const spawnWorker = async (): Promise<{ child: ChildProcess; output: () => string }> => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/consumer/main.ts'], {
      env: {
        ...(workerEnv(topics, group, {
          CONSUMER_METRICS_PORT: String(port),
          // Small batches and one partition at a time: many commits, so SIGTERM lands mid-run.
          CONSUMER_MAX_BYTES_PER_PARTITION: '8192',
          CONSUMER_CONCURRENCY: '1',
          LOG_LEVEL: 'info',
        }) as NodeJS.ProcessEnv),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
      timeoutMs: 60_000,
      what: 'the worker to be ready',
    });
    return { child, output: () => out };
  };

  const committed = async (): Promise<number[]> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topics.topic] });
      const byP = new Map(t!.partitions.map((p) => [p.partition, Number(p.offset)]));
      return users.map((_, p) => Math.max(0, byP.get(p) ?? 0));
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    topics = await createTopics(kafka, PARTITIONS);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let p = 0; p < PARTITIONS; p += 1) {
      const messages = Array.from({ length: PER_PARTITION }, (_, i) => ({
        key: users[p]!,
        partition: p,
        value: JSON.stringify({
          userId: users[p],
          metric: 'steps',
          time: new Date(T0 + i * 1000).toISOString(),
          value: i % 100,
        }),
        headers: { 'schema-version': '1' },
      }));
      // Sent in small requests: the broker hands out whole record batches, so this sets how small a fetch can be.
      for (let i = 0; i < messages.length; i += 100)
        await producer.send({ topic: topics.topic, acks: -1, messages: messages.slice(i, i + 100) });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await topics?.remove();
    await pool.query('DELETE FROM readings WHERE user_id = ANY($1)', [users]);
    await pool.end();
  });

  it('commits only what it stored, and a restart stores the rest', async () => {
    const total = PARTITIONS * PER_PARTITION;
    const first = await spawnWorker();
    await waitFor(async () => (await countRows(pool, users)) >= total / 10, {
      timeoutMs: 60_000,
      intervalMs: 20,
      what: 'a tenth of the readings stored',
    });
    first.child.kill('SIGTERM');
    const exit = await exited(first.child);
    expect(exit, first.output().slice(-2000)).toEqual({ code: 0, signal: null });

    const offsets = await committed();
    const committedTotal = offsets.reduce((a, b) => a + b, 0);
    expect(committedTotal).toBeGreaterThan(0);
    expect(committedTotal, 'the worker was stopped mid-run').toBeLessThan(total);
    // Every message below a partition's committed offset is a stored row.
    for (let p = 0; p < PARTITIONS; p += 1) {
      const { rows } = await pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM readings WHERE user_id = $1 AND time < $2',
        [users[p], new Date(T0 + offsets[p]! * 1000)],
      );
      expect(Number(rows[0]!.n), `partition ${p}: rows below committed offset ${offsets[p]}`).toBe(offsets[p]);
    }

    const second = await spawnWorker();
    await waitFor(async () => (await countRows(pool, users)) === total, {
      timeoutMs: 60_000,
      what: 'every reading stored after the restart',
    });
    await waitFor(async () => (await committed()).every((o) => o === PER_PARTITION), {
      timeoutMs: 30_000,
      what: 'every partition committed to its end',
    });
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toEqual({ code: 0, signal: null });
    console.log(`sigterm-worker: committed at SIGTERM ${committedTotal}/${total}`);
  });
});
