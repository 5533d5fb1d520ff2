/**
 * The consumer worker: topic `fitbit_ingestion` -> table `readings`.
 *
 * Per fetched partition batch: decode and validate every message, de-duplicate inside the batch,
 * write the valid rows in one transaction (a COPY; the INSERT ... ON CONFLICT DO NOTHING statement
 * when COPY meets an identity already stored), publish the refused messages to the DLQ (acks from
 * all in-sync replicas), and only then resolve and commit the batch's offsets.
 * A crash anywhere before the commit replays the batch; the identity makes the replay harmless.
 *
 * Failures of the world (Postgres or Kafka unavailable) are retried on the same batch with capped
 * exponential back-off, heartbeating so the group keeps the partition; nothing is skipped.
 * Failures of a message (bad JSON, bad field, a row the database refuses) go to the DLQ.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka, Producer } from '../kafka/types.js';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import { createKafka } from '../kafka/client.js';
import { classifyKafkaError } from '../kafka/failure.js';
import { createDlqProducer } from '../kafka/producers.js';
import type { Logger } from '../logger.js';
import { migrate } from '../timescale/migrations.js';
import { classifyDatabaseError } from '../timescale/pg.failure.js';
import { createPool, type Pool } from '../timescale/pool.js';
import { planBatch, type Row } from './batch.plan.js';
import { DLQ_HEADERS, dlqMessage } from './dlq.message.js';
import { headerText } from '../kafka/headers.js';
import { backoffMs } from './failure.js';
import { writeReadings } from './readings.insert.js';

/**
 * The worker's lifecycle, each phase with what exists in it (the shape of Apollo Server's): the
 * pool, DLQ producer and consumer exist from `started` on, so nothing needs a non-null assertion;
 * `starting` holds what it opened so far, so a stop() that arrives mid-start closes exactly that;
 * `stopping` holds the drain, so every stop() caller waits for the same one.
 */
type WorkerState =
  | { phase: 'initialized' }
  | { phase: 'starting'; opened: Opened }
  | { phase: 'started'; pool: Pool; producer: Producer; consumer: Consumer; statsTimer: NodeJS.Timeout }
  | { phase: 'stopping'; drained: Promise<void> }
  | { phase: 'stopped' };

export type WorkerPhase = WorkerState['phase'];

/** What start() has opened so far, in order; stop() closes it in reverse. */
interface Opened {
  pool?: Pool;
  producer?: Producer;
  consumer?: Consumer;
}

/** What a batch is written with: exists once start() opened it, handed to the batch handler then. */
interface BatchTools {
  pool: Pool;
  producer: Producer;
}

export interface ConsumerWorkerStats {
  phase: WorkerPhase;
  /** Batches fully handled: rows committed and DLQ acknowledged (their offsets are then committed). */
  batches: number;
  /** Messages in those batches. */
  messages: number;
  rowsInserted: number;
  /** Valid readings not inserted because their identity was already stored or repeated in the batch. */
  duplicates: number;
  /** Messages published to the DLQ. */
  dlq: number;
  /** Heartbeat records of the Flink watermark, skipped (src/domain/heartbeat.ts). */
  heartbeats: number;
  /**
   * Batches that COPY could not store whole (an identity already stored: a replay, a concurrent
   * worker; or a row Postgres refuses), written by the INSERT ... ON CONFLICT statement instead.
   */
  insertFallbacks: number;
  /**
   * Valid readings not stored because the erasure ledger names their user with an erasure later
   * than the message's append time (docs/privacy.md). Not sent to the DLQ: that would keep them.
   */
  erased: number;
  /** The same, by error code. */
  dlqByCode: Record<string, number>;
  /** Retries of a batch after a retriable failure (database or DLQ unavailable). */
  retries: number;
  /** The same, by what failed. */
  retriesBy: { database: number; dlq: number };
  /** Times this worker joined the group (1 + rebalances it took part in). */
  groupJoins: number;
  /** Partitions held, per topic, as of the last group join. */
  assignments: Record<string, number[]>;
  lastBatchAt: number | null;
}

export interface ConsumerWorker {
  /** Migrates, connects, joins the group; resolves once consuming. */
  start(): Promise<void>;
  /** Ends the batch in hand (written and committed, or abandoned to be replayed), leaves the group, closes. Idempotent. */
  stop(): Promise<void>;
  stats(): ConsumerWorkerStats;
}

export interface ConsumerWorkerOptions {
  /** The worker's slices of the configuration: nothing of the gateway's, no JWT secret. */
  config: Pick<Config, 'kafka' | 'consumer' | 'postgres'>;
  logger: Logger;
  /** Default: a client from createKafka. */
  kafka?: Kafka;
  /** Default: a pool of `concurrency + 1` connections, ended by stop(). A given pool is left open. */
  pool?: Pool;
  /** Clock for the future-time rule. Default Date.now. */
  now?: () => number;
  /** Where the three plain start lines go (the original worker's output). Default stdout. */
  print?: (line: string) => void;
  /** Called when kafkajs gives up on the consumer (a crash it will not restart). Default: log only. */
  onFatal?: (err: Error) => void;
}

const ABORTED = Symbol('aborted');

export function createConsumerWorker(options: ConsumerWorkerOptions): ConsumerWorker {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const print = options.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const topic = config.kafka.topics.ingestion;
  const dlqTopic = config.kafka.topics.dlq;
  const groupId = config.kafka.consumerGroup;
  const { concurrency, retryInitialMs, retryMaxMs } = config.consumer;
  const heartbeatIntervalMs = Math.min(3_000, Math.floor(config.consumer.sessionTimeoutMs / 3));
  const log = logger.child({ component: 'consumer', topic, groupId });

  const kafka = options.kafka ?? createKafka(config.kafka, logger, { clientId: `${config.kafka.clientId}-consumer` });
  const ownsPool = options.pool === undefined;
  let state: WorkerState = { phase: 'initialized' };
  // Wakes back-off sleeps at stop, so a worker waiting for Postgres stops at once.
  const stopSignal = new AbortController();

  const counters = {
    batches: 0,
    messages: 0,
    rowsInserted: 0,
    duplicates: 0,
    dlq: 0,
    heartbeats: 0,
    insertFallbacks: 0,
    erased: 0,
    retries: 0,
    groupJoins: 0,
  };
  let assignments: Record<string, number[]> = {};
  const dlqByCode: Record<string, number> = {};
  const retriesBy = { database: 0, dlq: 0 };
  let lastBatchAt: number | null = null;

  // Functions, not inline comparisons: the phase changes under awaits, which narrowing ignores.
  const phase = (): WorkerPhase => state.phase;
  const stopping = (): boolean => phase() === 'stopping' || phase() === 'stopped';

  // Ends early, without an error, when the worker stops.
  const sleep = (ms: number): Promise<void> =>
    delay(ms, undefined, { signal: stopSignal.signal }).catch(() => undefined);

  /**
   * Runs `fn` until it succeeds. Between attempts it sleeps in slices of at most a second and
   * heartbeats after each, so the coordinator keeps this member and its partitions. A rebalance
   * or a lost coordinator surfaces as an error from heartbeat(), which leaves the batch unresolved
   * for kafkajs to re-join and re-fetch. Returns ABORTED when the worker stops or the partition
   * is no longer ours: the batch is then not resolved, and is replayed by whoever owns it next.
   */
  async function retrying<T>(
    p: EachBatchPayload,
    what: 'database' | 'dlq',
    fn: () => Promise<T>,
  ): Promise<T | typeof ABORTED> {
    for (let attempt = 1; ; attempt += 1) {
      if (stopping() || !p.isRunning() || p.isStale()) return ABORTED;
      // A slow attempt (a connect timing out, a query on a silent connection) must not cost the
      // membership: heartbeat beside it. Its errors are left to the next heartbeat or commit.
      const ticker = setInterval(() => void p.heartbeat().catch(() => undefined), heartbeatIntervalMs);
      let failure: unknown;
      try {
        return await fn();
      } catch (err) {
        failure = err;
      } finally {
        clearInterval(ticker);
      }
      // Every kind is retried here: a row the database refuses was already isolated by the write
      // (FailureKind 'data' goes to the DLQ there), and the DLQ itself has no DLQ. The kind says
      // how loudly: 'unknown' (a missing table, a refused client) needs an operator.
      const kind = what === 'database' ? classifyDatabaseError(failure) : classifyKafkaError(failure);
      const waitMs = backoffMs(attempt, { initialMs: retryInitialMs, maxMs: retryMaxMs });
      counters.retries += 1;
      retriesBy[what] += 1;
      const e = failure as { message?: string; code?: string };
      log[kind === 'unavailable' ? 'warn' : 'error'](
        {
          what,
          kind,
          err: e.message,
          code: e.code,
          attempt,
          waitMs,
          partition: p.batch.partition,
          firstOffset: p.batch.firstOffset(),
        },
        `${what === 'database' ? 'writing readings' : 'publishing to the DLQ'} failed; retrying the same batch`,
      );
      for (let left = waitMs; left > 0 && !stopping(); left -= 1000) {
        await sleep(Math.min(left, 1000));
        if (!stopping()) await p.heartbeat();
      }
    }
  }

  async function handleBatch(p: EachBatchPayload, { pool, producer }: BatchTools): Promise<void> {
    const { batch } = p;
    if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return;
    const from = { topic: batch.topic, partition: batch.partition };
    const plan = planBatch(batch.messages, now());

    const written = await retrying(p, 'database', () =>
      writeReadings(
        pool,
        plan.rows,
        (r: Row) => r.reading,
        (r: Row) => r.appendedMs,
      ),
    );
    if (written === ABORTED) return;

    const dead = plan.rejected.map((r) => dlqMessage(r.source, r, from));
    for (const { item, error } of written.refused) {
      dead.push(
        dlqMessage(
          item.source,
          { code: ErrorCode.DATABASE_REJECTED, message: `the database refused the row: ${error.message}` },
          from,
        ),
      );
    }
    if (dead.length > 0) {
      const sent = await retrying(p, 'dlq', () => producer.send({ topic: dlqTopic, acks: -1, messages: dead }));
      if (sent === ABORTED) return;
      for (const r of plan.rejected)
        log.debug({ partition: from.partition, offset: r.source.offset, code: r.code }, 'message sent to the DLQ');
    }

    // Counted before the commit: should the commit fail (a rebalance), the rows are stored all the
    // same, and the replay counts them as duplicates.
    const insertable = plan.rows.length - written.refused.length;
    counters.batches += 1;
    counters.messages += batch.messages.length;
    counters.rowsInserted += written.inserted;
    counters.duplicates += plan.duplicatesInBatch + (insertable - written.inserted - written.erased);
    counters.erased += written.erased;
    counters.dlq += dead.length;
    counters.heartbeats += plan.heartbeats;
    if (written.path === 'insert') counters.insertFallbacks += 1;
    for (const m of dead) {
      const code = String(m.headers?.[DLQ_HEADERS.code] ?? 'UNKNOWN');
      dlqByCode[code] = (dlqByCode[code] ?? 0) + 1;
    }
    lastBatchAt = Date.now();
    // The request ids (set by the gateway) of what was stored: follows one mutation into the table.
    if (log.isLevelEnabled('debug')) {
      const requestIds = new Set<string>();
      for (const r of plan.rows) {
        const id = headerText(r.source.headers, 'request-id');
        if (typeof id === 'string') requestIds.add(id);
      }
      log.debug(
        {
          partition: from.partition,
          lastOffset: batch.lastOffset(),
          rows: written.inserted,
          dlq: dead.length,
          requestIds: [...requestIds],
        },
        'batch stored',
      );
    }

    p.resolveOffset(batch.lastOffset());
    // Commits now (autoCommit without interval or threshold): everything up to here is stored.
    await p.commitOffsetsIfNecessary();
  }

  const stats = (): ConsumerWorkerStats => ({
    phase: state.phase,
    ...counters,
    dlqByCode: { ...dlqByCode },
    retriesBy: { ...retriesBy },
    assignments: Object.fromEntries(Object.entries(assignments).map(([t, ps]) => [t, [...ps]])),
    lastBatchAt,
  });

  async function start(): Promise<void> {
    if (state.phase !== 'initialized') throw new Error(`consumer worker cannot start from phase ${state.phase}`);
    const opened: Opened = {};
    state = { phase: 'starting', opened };

    const pool = (opened.pool =
      options.pool ??
      createPool(config.postgres, logger, { max: concurrency + 1, applicationName: 'fitbit-consumer' }));
    const { flavour, applied } = await migrate(pool);
    print('Connected to TimescaleDB');
    log.info({ flavour, applied }, 'database ready');

    const producer = (opened.producer = createDlqProducer(kafka));
    await producer.connect();

    const consumer = (opened.consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: config.consumer.sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      // The fetch long-poll bounds how long stop() waits when the topic is idle.
      maxWaitTimeInMs: 1_000,
      maxBytesPerPartition: config.consumer.maxBytesPerPartition,
      maxBytes: Math.max(10 * 1024 * 1024, config.consumer.maxBytesPerPartition * config.kafka.partitions),
    }));
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      counters.groupJoins += 1;
      assignments = Object.fromEntries(
        Object.entries(e.payload.memberAssignment).map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]),
      );
      log.info({ memberId: e.payload.memberId, assignments }, 'joined the consumer group');
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      if (restart) {
        log.warn({ err: error.message }, 'consumer crashed; kafkajs restarts it from the committed offsets');
        return;
      }
      log.fatal({ err: error.message }, 'consumer crashed and will not restart');
      options.onFatal?.(error);
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: config.consumer.fromBeginning });
    print(`Connected to Kafka topic: ${topic}`);

    // Batches may arrive before run() resolves: the handler gets the pool and producer from here.
    const tools: BatchTools = { pool, producer };
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: (p) => handleBatch(p, tools),
    });
    // A stop() during the start closed what was opened; the worker stays stopped.
    if (phase() !== 'starting') return;

    let last = '';
    const statsTimer = setInterval(() => {
      const s = JSON.stringify(counters);
      if (s !== last) log.info({ stats: counters }, 'consumer stats');
      last = s;
    }, 30_000);
    statsTimer.unref();
    state = { phase: 'started', pool, producer, consumer, statsTimer };
    print(`Listening to Kafka topic: ${topic}...`);
    log.info({ dlqTopic, concurrency, fromBeginning: config.consumer.fromBeginning }, 'consumer worker started');
  }

  /** Closes in order: the consumer (kafkajs waits for the batch in hand), the DLQ producer, the pool. */
  async function close({ consumer, producer, pool }: Opened): Promise<void> {
    stopSignal.abort();
    // That batch either committed or returned unresolved.
    await consumer
      ?.disconnect()
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'consumer disconnect failed'));
    await producer
      ?.disconnect()
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'DLQ producer disconnect failed'));
    if (ownsPool)
      await pool?.end().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'pool end failed'));
    state = { phase: 'stopped' };
    log.info({ stats: counters }, 'consumer worker stopped');
  }

  async function stop(): Promise<void> {
    const s = state;
    switch (s.phase) {
      case 'initialized':
        state = { phase: 'stopped' };
        return;
      case 'starting': {
        const drained = close(s.opened);
        state = { phase: 'stopping', drained };
        return drained;
      }
      case 'started': {
        clearInterval(s.statsTimer);
        const drained = close(s);
        state = { phase: 'stopping', drained };
        return drained;
      }
      case 'stopping':
        return s.drained;
      case 'stopped':
        return;
      default: {
        const never: never = s;
        throw new Error(`consumer worker in an unknown phase ${JSON.stringify(never)}`);
      }
    }
  }

  return { start, stop, stats };
}
