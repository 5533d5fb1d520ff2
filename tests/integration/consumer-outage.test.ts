/**
 * Postgres going away under a running worker: the worker retries the same batch with back-off,
 * keeps its partitions (heartbeats while waiting), commits nothing past what is stored, sends
 * nothing to the DLQ, and stores everything once Postgres is back. The outage is real: the worker
 * reaches Postgres through a TCP relay that the test closes (connections reset, new ones refused)
 * and opens again, and through server-side termination of its sessions (SQLSTATE 57P01).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
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
  testPool,
  workerConfig,
  type Topics,
  committedTotal,
} from './consumer-fixtures.js';

/** A TCP relay to Postgres that can be cut (every connection reset, port closed) and restored. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

const kafka = testKafka();
const pgUrl = new URL(base.postgres.url);
const relay = new Relay({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
let topics: Topics;
let pool: pg.Pool;
let worker: ConsumerWorker | undefined;
const users = Array.from({ length: 12 }, (_, i) => `${uniqueId('outage')}-${i}`);
const appName = uniqueId('consumer-outage');

beforeAll(async () => {
  topics = await createTopics(kafka);
  pool = testPool();
  await relay.open();
});

afterAll(async () => {
  await relay.open().catch(() => undefined);
  await worker?.stop();
  await relay.cut();
  await deleteRows(pool, users);
  await pool.end();
  await topics.remove();
});

it('retries the same batches while Postgres is away and loses nothing', async () => {
  const url = new URL(base.postgres.url);
  url.port = String(relay.port);
  url.searchParams.set('application_name', appName);
  const group = uniqueId('g-outage');
  const config = workerConfig(topics, group, { DATABASE_URL: url.toString() });
  worker = createConsumerWorker({ config, logger: createLogger(config, 'consumer-outage'), print: () => undefined });
  await worker.start();
  const w = worker;

  const wave = (from: number) => users.flatMap((u) => Array.from({ length: 25 }, (_, i) => reading(u, from + i)));
  const wave1 = wave(0);
  await produce(
    kafka,
    topics.topic,
    wave1.map((r) => asMessage(r)),
  );
  await waitFor(async () => (await countRows(pool, users)) === wave1.length, { what: 'wave 1 stored' });
  await waitFor(async () => (await committedTotal(kafka, group, topics.topic)) === wave1.length, {
    what: 'wave 1 committed',
  });

  // Outage 1: connections reset and refused, for longer than the group's session timeout (6 s
  // here), which the worker must outlast by heartbeating while it waits.
  const joins = w.stats().groupJoins;
  await relay.cut();
  const cutAt = Date.now();
  const wave2 = wave(100);
  await produce(
    kafka,
    topics.topic,
    wave2.map((r) => asMessage(r)),
  );
  await waitFor(() => w.stats().retries >= 3 && Date.now() - cutAt > config.consumer.sessionTimeoutMs + 1000, {
    timeoutMs: 20_000,
    what: 'retries for longer than the session timeout',
  });
  expect(await countRows(pool, users)).toBe(wave1.length);
  expect(await committedTotal(kafka, group, topics.topic), 'no offset committed past what is stored').toBe(
    wave1.length,
  );
  expect(w.stats().dlq).toBe(0);
  expect(w.stats().assignments[topics.topic]).toHaveLength(6);

  await relay.open();
  await waitFor(async () => (await countRows(pool, users)) === wave1.length + wave2.length, {
    timeoutMs: 20_000,
    what: 'wave 2 stored after the outage',
  });
  await waitFor(async () => (await committedTotal(kafka, group, topics.topic)) === wave1.length + wave2.length, {
    what: 'wave 2 committed',
  });
  // Had the heartbeats stopped, the coordinator would have dropped the member and the commit
  // above would have needed a rejoin.
  expect(w.stats().groupJoins, 'still the same member after the outage').toBe(joins);

  // Outage 2: the server ends the worker's sessions (57P01 admin shutdown) as a restart would.
  const wave3 = wave(200);
  await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName]);
  await produce(
    kafka,
    topics.topic,
    wave3.map((r) => asMessage(r)),
  );
  const total = wave1.length + wave2.length + wave3.length;
  await waitFor(async () => (await countRows(pool, users)) === total, { timeoutMs: 20_000, what: 'wave 3 stored' });
  await waitFor(async () => (await committedTotal(kafka, group, topics.topic)) === total, { what: 'wave 3 committed' });
  expect(w.stats().dlq).toBe(0);
  expect(w.stats().rowsInserted).toBe(total);
});
