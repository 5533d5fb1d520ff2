/**
 * The consumer worker: topic `fitbit_ingestion` -> table `readings`.
 *
 * Fetching and writing overlap. The batch handler only queues each fetched partition batch on its
 * partition's write lane (src/consumer/write.lanes.ts) and resolves its offsets, so kafkajs
 * fetches the next batch while Postgres stores this one. Each lane, in offset order: decode and
 * validate every message, de-duplicate inside the batch, write the valid rows in one transaction
 * (a COPY; the INSERT ... ON CONFLICT DO NOTHING statement when COPY meets an identity already
 * stored), publish the refused messages to the DLQ (acks from all in-sync replicas). Offsets are
 * committed by the worker, not by kafkajs (autoCommit off), and only up to the last batch before
 * which everything is stored (src/consumer/offset.ledger.ts). A crash anywhere before the commit
 * replays the batches after it; the identity makes the replay harmless.
 *
 * A lane holds a bounded number of batches; when it is full the handler waits (heartbeating), so
 * kafkajs stops fetching. After a rebalance kafkajs fetches from the committed offsets again: the
 * batches queued in the previous generation are dropped unwritten, the one being written finishes,
 * and nothing of the previous generation is committed afterwards.
 *
 * Failures of the world (Postgres or Kafka unavailable) are retried on the same batch with capped
 * exponential back-off; the lane fills, kafkajs' fetching waits, the group keeps the partition
 * (heartbeats); nothing is skipped. Failures of a message (bad JSON, bad field, a row the database
 * refuses) go to the DLQ.
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
import { planBatch, type Row, type SourceMessage } from './batch.plan.js';
import { DLQ_HEADERS, dlqMessage } from './dlq.message.js';
import { headerText } from '../kafka/headers.js';
import { backoffMs } from './failure.js';
import { writeReadings } from './readings.insert.js';
import { createOffsetLedger, type TrackedBatch } from './offset.ledger.js';
import { createWriteLanes } from './write.lanes.js';

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
  consumer: Consumer;
}

/** A fetched partition batch waiting in its lane. */
interface QueuedBatch {
  /** The group generation it was fetched in (see `generation`). */
  generation: number;
  /** Its entry in the offset ledger. */
  tracked: TrackedBatch;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  messages: readonly SourceMessage[];
  tools: BatchTools;
}

/**
 * Batches a partition's lane holds besides the one being written: the next batches are fetched
 * and waiting while the current one is written, and join its successor's write when the lane
 * fell behind. Bounds the memory of fetched, unwritten batches at about partitions x
 * (capacity + 2) x maxBytesPerPartition (one being written, one taken and waiting for a write slot).
 * Larger was not faster in the bench: batches that wait longer survive into V8's old generation.
 */
const LANE_CAPACITY = 2;
/** Messages written in one transaction at most when a lane joins queued batches. */
const MAX_MESSAGES_PER_WRITE = 20_000;
/** After a failed offset commit, the next try (unless another batch is stored first). */
const COMMIT_RETRY_MS = 1_000;

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
   * The group generation being consumed: bumped at every group join (and at a crash, after which
   * kafkajs joins again). Batches of an earlier generation are neither written (if still queued)
   * nor committed: kafkajs fetches them again from the committed offsets, here or elsewhere.
   */
  let generation = 0;
  const ledger = createOffsetLedger();
  const isCurrent = (b: QueuedBatch): boolean => b.generation === generation;

  const lanes = createWriteLanes<QueuedBatch>({
    capacity: LANE_CAPACITY,
    writers: concurrency,
    write: (bs) => storeBatches(bs),
    current: isCurrent,
    // A lane that fell behind writes what it holds in one transaction: fewer round trips, commits
    // and trigger calls per row. The same generation only, and a bounded write.
    joins: (taken, next) =>
      next.generation === taken[0]!.generation &&
      taken.reduce((n, b) => n + b.messages.length, next.messages.length) <= MAX_MESSAGES_PER_WRITE,
    onDefect: (err, bs) =>
      log.error(
        { err: (err as Error).message, partition: bs[0]!.partition, firstOffset: bs[0]!.firstOffset },
        'storing batches failed unexpectedly; trying them again',
      ),
  });

  /**
   * Runs `fn` until it succeeds, sleeping with capped exponential back-off between attempts.
   * Returns ABORTED when the worker stops or the batch's generation is over: the batch is then not
   * stored, and is replayed by whoever owns the partition next. The group membership does not
   * depend on this loop: kafkajs heartbeats between fetches, and the batch handler while it waits
   * for room in the lane this loop keeps full.
   */
  async function retrying<T>(
    b: QueuedBatch,
    what: 'database' | 'dlq',
    fn: () => Promise<T>,
  ): Promise<T | typeof ABORTED> {
    for (let attempt = 1; ; attempt += 1) {
      if (stopping() || !isCurrent(b)) return ABORTED;
      let failure: unknown;
      try {
        return await fn();
      } catch (err) {
        failure = err;
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
          partition: b.partition,
          firstOffset: b.firstOffset,
        },
        `${what === 'database' ? 'writing readings' : 'publishing to the DLQ'} failed; retrying the same batch`,
      );
      await sleep(waitMs);
    }
  }

  /**
   * A lane's write of consecutive batches of one partition as one: rows stored and refused
   * messages in the DLQ, then offered for commit. Planned as one batch, so an identity repeated
   * across them is stored once, from the first message in offset order, as when written one by one.
   */
  async function storeBatches(bs: readonly QueuedBatch[]): Promise<void> {
    const b = bs[0]!;
    const { pool, producer } = b.tools;
    const from = { topic, partition: b.partition };
    const messages = bs.length === 1 ? b.messages : bs.flatMap((x) => x.messages);
    const plan = planBatch(messages, now());

    const written = await retrying(b, 'database', () =>
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
    // Counted as soon as written, whether or not the batch is then committed: the rows are stored,
    // and a replay counts them as duplicates.
    const insertable = plan.rows.length - written.refused.length;
    counters.rowsInserted += written.inserted;
    counters.duplicates += plan.duplicatesInBatch + (insertable - written.inserted - written.erased);
    counters.erased += written.erased;
    counters.heartbeats += plan.heartbeats;
    if (written.path === 'insert') counters.insertFallbacks += 1;

    if (dead.length > 0) {
      const sent = await retrying(b, 'dlq', () => producer.send({ topic: dlqTopic, acks: -1, messages: dead }));
      if (sent === ABORTED) return;
      for (const r of plan.rejected)
        log.debug({ partition: from.partition, offset: r.source.offset, code: r.code }, 'message sent to the DLQ');
    }

    counters.batches += bs.length;
    counters.messages += messages.length;
    counters.dlq += dead.length;
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
          lastOffset: bs[bs.length - 1]!.lastOffset,
          rows: written.inserted,
          dlq: dead.length,
          requestIds: [...requestIds],
        },
        'batch stored',
      );
    }

    if (!isCurrent(b)) return;
    for (const x of bs) ledger.stored(x.tracked);
    requestCommit(b.tools.consumer);
  }

  /**
   * The batch handler kafkajs calls: queues the batch on its partition's lane and resolves its
   * offsets, so that kafkajs fetches on. Waits while the lane is full, heartbeating: a heartbeat
   * that reports a rebalance throws, and kafkajs joins the group again.
   */
  async function acceptBatch(p: EachBatchPayload, tools: BatchTools): Promise<void> {
    const { batch } = p;
    if (batch.messages.length === 0 || stopping() || !p.isRunning() || p.isStale()) return;
    const fetchedIn = generation;
    for (;;) {
      const room = await lanes.waitForRoom(batch.partition, heartbeatIntervalMs);
      if (room === 'closed') return;
      if (room === 'room') break;
      await p.heartbeat();
    }
    // A crash of the consumer (a new generation) or a stop while waiting: leave the batch unresolved.
    if (fetchedIn !== generation || stopping() || !p.isRunning() || p.isStale()) return;
    const lastOffset = batch.lastOffset();
    let tracked = ledger.track(batch.partition, lastOffset);
    if (!tracked) {
      // kafkajs went back within a generation (an out-of-range offset reset to the topic's
      // start): the partition's earlier batches are still written, but commits start over here.
      log.warn(
        { partition: batch.partition, lastOffset },
        'fetch position went back; commits of the partition start over',
      );
      ledger.forget(batch.partition);
      tracked = ledger.track(batch.partition, lastOffset)!;
    }
    lanes.push(batch.partition, {
      generation,
      tracked,
      partition: batch.partition,
      firstOffset: batch.firstOffset() ?? batch.messages[0]!.offset,
      lastOffset,
      messages: batch.messages,
      tools,
    });
    p.resolveOffset(lastOffset);
  }

  // One commit at a time; batches stored meanwhile are covered by the next one.
  let committing: Promise<void> | undefined;
  let commitAgain = false;
  let commitRetry: NodeJS.Timeout | undefined;

  /** Commits the offsets the ledger offers, now or right after the commit under way. */
  function requestCommit(consumer: Consumer): Promise<void> {
    if (committing) {
      commitAgain = true;
      return committing;
    }
    clearTimeout(commitRetry);
    committing = (async () => {
      do {
        commitAgain = false;
        await commitStored(consumer);
      } while (commitAgain);
    })().finally(() => {
      committing = undefined;
    });
    return committing;
  }

  async function commitStored(consumer: Consumer): Promise<void> {
    const committedIn = generation;
    const offsets = ledger.committable();
    if (offsets.length === 0) return;
    try {
      await consumer.commitOffsets(offsets.map((o) => ({ topic, ...o })));
      // A commit of an earlier generation tells the new ledger nothing: it starts from what kafkajs reads back.
      if (committedIn === generation) ledger.committed(offsets);
    } catch (err) {
      // Nothing is lost: the rows are stored, and the offsets are offered again with the next commit.
      log.warn({ err: (err as Error).message, offsets }, 'committing offsets failed; trying again');
      if (!stopping()) {
        clearTimeout(commitRetry);
        commitRetry = setTimeout(() => void requestCommit(consumer), COMMIT_RETRY_MS);
        commitRetry.unref();
      }
    }
  }

  /** A new group generation: kafkajs reads from the committed offsets again, so what was queued is replayed. */
  function newGeneration(): void {
    generation += 1;
    ledger.reset();
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
      newGeneration();
      counters.groupJoins += 1;
      assignments = Object.fromEntries(
        Object.entries(e.payload.memberAssignment).map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]),
      );
      log.info({ memberId: e.payload.memberId, assignments }, 'joined the consumer group');
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      // kafkajs has left the group: nothing fetched so far may be committed any more.
      newGeneration();
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
    const tools: BatchTools = { pool, producer, consumer };
    await consumer.run({
      // The worker commits (commitStored): kafkajs would commit resolved offsets, which run ahead of
      // what is stored, after each batch and when it sees a rebalance.
      autoCommit: false,
      eachBatchAutoResolve: false,
      // The handler only queues: the lanes write `concurrency` partitions at a time.
      partitionsConsumedConcurrently: concurrency,
      eachBatch: (p) => acceptBatch(p, tools),
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

  /**
   * Closes in order: the lanes (queued batches dropped, the writes under way end: stored, or
   * abandoned at the next retry), a last commit of what is stored, the consumer (leaves the group),
   * the DLQ producer, the pool. Whatever was dropped is replayed by the partition's next owner.
   */
  async function close({ consumer, producer, pool }: Opened): Promise<void> {
    stopSignal.abort();
    clearTimeout(commitRetry);
    await lanes.close();
    // Before the disconnect: kafkajs refuses commits once it stops.
    if (consumer) await requestCommit(consumer);
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
