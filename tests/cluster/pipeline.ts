/**
 * The pieces every cluster fault shares, and the soak too: a private ingestion pipeline on the
 * cluster (its own replicated topic and DLQ, a gateway in this process, a consumer worker as a
 * child process, the cluster's Postgres), a steady ingest load whose clients retry a failed
 * mutation a bounded number of times, and the final count of what was acknowledged against what
 * is on the topic and in the table.
 *
 * A reading is acknowledged when its mutation answered `accepted` for the whole batch (possibly on
 * a retry with the same readings). Every reading has its own `time`, so its identity
 * (user, metric, time) is unique, and the table can be checked for each one exactly.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { topicReplication } from '../../stack/services/kafka.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { collect, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { freePort, startChild, type Child } from '../helpers/faults.js';

const INGEST = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted}}';

export interface Pipeline {
  id: string;
  topic: string;
  userPrefix: string;
  gw: TestGateway;
  worker: Child;
  db: pg.Pool;
  kafka: Kafka;
  /** Starts the worker again (after it was killed, or to re-read the config). */
  restartWorker(): Promise<void>;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  partitions?: number;
  /** How long a mutation waits for Kafka's acknowledgement (INGEST_ACK_TIMEOUT_MS). */
  ackTimeoutMs?: number;
}

export async function startPipeline(name: string, options: PipelineOptions = {}): Promise<Pipeline> {
  const config = loadConfig();
  const id = uniqueId(name);
  const topic = `${id}-ingestion`;
  const dlq = `${id}-dlq`;
  const group = `${id}-writers`;
  const userPrefix = `${id}-u`;
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  try {
    const replication = topicReplication(config);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: options.partitions ?? config.kafka.partitions, ...replication },
        { topic: dlq, numPartitions: 1, ...replication },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  const gw = await startGateway({
    KAFKA_TOPIC: topic,
    INGEST_ACK_TIMEOUT_MS: String(options.ackTimeoutMs ?? 10_000),
    RATE_LIMIT_PER_SECOND: '0',
    // kafkajs logs every refused reconnect during a fault; the tests report what matters.
    LOG_LEVEL: 'error',
  });
  const workerEnv = {
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: dlq,
    KAFKA_CONSUMER_GROUP: group,
    KAFKA_CONSUMER_FROM_BEGINNING: 'true',
    CONSUMER_RETRY_INITIAL_MS: '100',
    CONSUMER_RETRY_MAX_MS: '1000',
    CONSUMER_SESSION_TIMEOUT_MS: '10000',
    LOG_LEVEL: 'error',
  };
  const startWorker = async () =>
    startChild({ name: `${id}-worker`, script: 'src/consumer/main.ts', port: await freePort(), env: workerEnv });
  let worker = await startWorker();
  const db = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
  // A pool's idle client whose server went away emits 'error'; the next query reconnects.
  db.on('error', () => undefined);
  const pipeline: Pipeline = {
    id,
    topic,
    userPrefix,
    gw,
    get worker() {
      return worker;
    },
    db,
    kafka,
    async restartWorker() {
      await worker.kill('SIGTERM');
      worker = await startWorker();
    },
    async stop() {
      await worker.kill('SIGTERM');
      await gw.stop();
      const a = kafka.admin();
      await a.connect();
      await a.deleteTopics({ topics: [topic, dlq] }).catch(() => undefined);
      await a.deleteGroups([group]).catch(() => undefined);
      await a.disconnect();
      await db.query('DELETE FROM readings WHERE user_id LIKE $1', [`${userPrefix}%`]).catch(() => undefined);
      await db.end();
    },
  };
  return pipeline;
}

export interface Reading {
  userId: string;
  metric: 'HEART_RATE';
  time: string;
  value: number;
  eventId: string;
}

export interface Mutation {
  startedAt: number;
  /** When the last attempt answered accepted; undefined if every attempt failed. */
  ackedAt?: number;
  attempts: number;
  /** The error code of each failed attempt. */
  failures: string[];
  readings: Reading[];
}

export interface LoadOptions {
  clients?: number;
  batch?: number;
  /** Attempts per mutation, the first included: the client's bounded retry. */
  maxAttempts?: number;
  /** Pause between a failed attempt and the next. */
  retryDelayMs?: number;
  /** Pause between two mutations of one client. */
  pauseMs?: number;
  /** A client's request is abandoned after this: a hang, counted as a failed attempt. */
  requestTimeoutMs?: number;
  /** Event time between consecutive readings (all readings share one clock, every one its own instant). */
  stepMs?: number;
}

/** Clients ingesting batches through the gateway until stopped. */
export class IngestLoad {
  readonly mutations: Mutation[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private readonly base = Date.now() - 3 * 86_400_000;
  private readonly o: Required<LoadOptions>;

  constructor(
    private readonly url: string,
    private readonly userPrefix: string,
    options: LoadOptions = {},
  ) {
    this.o = {
      clients: 3,
      batch: 10,
      maxAttempts: 4,
      retryDelayMs: 1000,
      pauseMs: 50,
      requestTimeoutMs: 30_000,
      stepMs: 1,
      ...options,
    };
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.o.clients }, async () => {
      while (this.running) {
        await this.one();
        await sleep(this.o.pauseMs);
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private batch(): Reading[] {
    return Array.from({ length: this.o.batch }, () => {
      const n = this.seq++;
      return {
        userId: `${this.userPrefix}${n % 5}`,
        metric: 'HEART_RATE' as const,
        // stepMs apart: every reading its own identity.
        time: new Date(this.base + n * this.o.stepMs).toISOString(),
        value: 50 + (n % 100),
        eventId: randomUUID(),
      };
    });
  }

  private async one(): Promise<void> {
    const m: Mutation = { startedAt: Date.now(), attempts: 0, failures: [], readings: this.batch() };
    this.mutations.push(m);
    while (m.attempts < this.o.maxAttempts) {
      m.attempts += 1;
      const code = await this.attempt(m.readings);
      if (code === undefined) {
        m.ackedAt = Date.now();
        return;
      }
      m.failures.push(code);
      if (m.attempts < this.o.maxAttempts) await sleep(this.o.retryDelayMs);
    }
  }

  /** undefined when accepted, else the error code (or the transport's failure). */
  private async attempt(readings: Reading[]): Promise<string | undefined> {
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: INGEST, variables: { r: readings } }),
        signal: AbortSignal.timeout(this.o.requestTimeoutMs),
      });
      const body = (await res.json()) as {
        data?: { ingestReadings: { accepted: number } } | null;
        errors?: { extensions?: { code?: string } }[];
      };
      if (body.errors === undefined && body.data?.ingestReadings.accepted === readings.length) return undefined;
      return body.errors?.[0]?.extensions?.code ?? 'NO_CODE';
    } catch (err) {
      return (err as Error).name === 'TimeoutError' ? 'CLIENT_TIMEOUT' : 'NETWORK';
    }
  }

  acknowledged(): Reading[] {
    return this.mutations.filter((m) => m.ackedAt !== undefined).flatMap((m) => m.readings);
  }

  /** Mutations that failed every attempt: the ones the bounded retry did not save. */
  abandoned(): Mutation[] {
    return this.mutations.filter((m) => m.ackedAt === undefined && !this.inFlight(m));
  }

  private inFlight(m: Mutation): boolean {
    return this.running && m.attempts < this.o.maxAttempts;
  }

  /**
   * The longest time within [from, to] during which no mutation was acknowledged: how long ingest
   * stood still around a fault (the gaps of a healthy run are a few tens of ms).
   */
  stallMs(from: number, to: number): number {
    const acks = this.mutations
      .map((m) => m.ackedAt)
      .filter((t): t is number => t !== undefined && t >= from && t <= to)
      .sort((a, b) => a - b);
    let longest = 0;
    let previous = from;
    for (const t of [...acks, to]) {
      longest = Math.max(longest, t - previous);
      previous = t;
    }
    return longest;
  }

  /** Acknowledged mutations that needed more than one attempt. */
  retried(): number {
    return this.mutations.filter((m) => m.ackedAt !== undefined && m.attempts > 1).length;
  }
}

export interface Verdict {
  acknowledged: number;
  /** Acknowledged readings missing from the topic or the table. */
  lostOnTopic: number;
  lostInTable: number;
  /** Acknowledged readings whose mutation succeeded at the first attempt, found more than once on the topic. */
  duplicatedOnTopic: number;
  /** Extra copies on the topic of readings whose mutation was retried (a timed-out attempt that was written after all). */
  retryCopiesOnTopic: number;
  /** Rows of one identity beyond the first (the table's key makes this 0 unless it is broken). */
  duplicatedInTable: number;
  retriedMutations: number;
  abandonedMutations: number;
}

/**
 * Reads the whole private topic (to its end offsets) and the pipeline's rows, once the worker has
 * caught up, and counts each acknowledged reading in both.
 */
export async function verify(p: Pipeline, load: IngestLoad, timeoutMs = 120_000): Promise<Verdict> {
  const acked = load.acknowledged();
  const firstTry = new Set(
    load.mutations
      .filter((m) => m.ackedAt !== undefined && m.attempts === 1)
      .flatMap((m) => m.readings.map((r) => r.eventId)),
  );
  const admin = p.kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(p.topic).finally(() => admin.disconnect());
  const total = ends.reduce((n, e) => n + Number(e.high), 0);
  const copies = new Map<string, number>();
  let read = 0;
  await collect(
    p.kafka,
    p.topic,
    ends.map((e) => ({ partition: e.partition, offset: '0' })),
    (m) => {
      read += 1;
      const eventId = (JSON.parse(m.value ?? '{}') as { eventId?: string }).eventId;
      if (eventId !== undefined) copies.set(eventId, (copies.get(eventId) ?? 0) + 1);
      return false;
    },
    () => read >= total,
    timeoutMs,
  );
  const identity = (userId: string, time: string) => `${userId}|${time}`;
  const wanted = new Set(acked.map((r) => identity(r.userId, r.time)));
  const rowsOf = async () => {
    const { rows } = await p.db.query<{ user_id: string; time: Date; n: number }>(
      'SELECT user_id, time, count(*)::int AS n FROM readings WHERE user_id LIKE $1 GROUP BY 1, 2',
      [`${p.userPrefix}%`],
    );
    return rows;
  };
  // The worker may still be writing the tail: wait until every acknowledged identity is there.
  const rows = await waitFor(
    async () => {
      const r = await rowsOf();
      const have = new Set(r.map((x) => identity(x.user_id, x.time.toISOString())));
      return [...wanted].every((k) => have.has(k)) ? r : undefined;
    },
    { timeoutMs, intervalMs: 500, what: `${wanted.size} acknowledged readings in the table` },
  ).catch(async () => rowsOf());
  const inTable = new Map(rows.map((x) => [identity(x.user_id, x.time.toISOString()), x.n]));
  return {
    acknowledged: acked.length,
    lostOnTopic: acked.filter((r) => !copies.has(r.eventId)).length,
    lostInTable: [...wanted].filter((k) => !inTable.has(k)).length,
    duplicatedOnTopic: acked.filter((r) => firstTry.has(r.eventId) && (copies.get(r.eventId) ?? 0) > 1).length,
    retryCopiesOnTopic: acked
      .filter((r) => !firstTry.has(r.eventId))
      .reduce((n, r) => n + Math.max(0, (copies.get(r.eventId) ?? 0) - 1), 0),
    duplicatedInTable: rows.reduce((n, x) => n + (x.n - 1), 0),
    retriedMutations: load.retried(),
    abandonedMutations: load.abandoned().length,
  };
}

/** Waits until every partition of `topic` has all its replicas in sync again (after a broker came back). */
export async function waitForFullIsr(kafka: Kafka, topic: string, timeoutMs = 120_000): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        return meta.topics[0]!.partitions.every((x) => x.isr.length === x.replicas.length);
      } finally {
        await admin.disconnect();
      }
    },
    { timeoutMs, intervalMs: 1000, what: `every replica of ${topic} in sync` },
  );
  return Date.now() - started;
}

/** The broker (node id) leading `partition` of `topic`. */
export async function leaderOf(kafka: Kafka, topic: string, partition: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const p = meta.topics[0]!.partitions.find((x) => x.partitionId === partition);
    if (p === undefined || p.leader < 0) throw new Error(`${topic}/${partition} has no leader`);
    return p.leader;
  } finally {
    await admin.disconnect();
  }
}
