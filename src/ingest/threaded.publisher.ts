/**
 * The reading publisher with its kafkajs producer in a worker thread (INGEST_PRODUCER_THREAD, on
 * by default). The main thread keeps what callers see: it picks the event ids, posts each publish
 * as reading columns, and holds the callers' promises and their ack timeouts; the thread turns the
 * columns into messages, coalesces concurrent publishes into produce requests, and answers each
 * request's outcome. Record encoding, CRCs, partitioning and their garbage then cost the thread,
 * not the main thread that also runs GraphQL. The contract is the one of src/ingest/reading.publisher.ts.
 *
 * Failure: when the thread dies (an uncaught error, or terminated), every publish waiting on it
 * fails with KAFKA_UNAVAILABLE, so nothing is reported accepted that Kafka did not confirm (its
 * readings may still have reached the topic; the caller's retry is harmless). The next publish
 * starts a new thread.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import { AppError, ErrorCode } from '../errors.js';
import type { LogSettings, Logger } from '../logger.js';
import {
  classify,
  DEFAULT_MAX_BATCH_MESSAGES,
  recordProduce,
  shuttingDown,
  withAckTimeout,
  type PublishStats,
  type ReadingPublisher,
  type Waiter,
} from './reading.publisher.js';
import { eventIdsOf } from './reading.producer.js';
import {
  fromThreadError,
  toColumns,
  type FromThread,
  type ProducerThreadSettings,
  type ToThread,
} from './producer.protocol.js';

const THREAD_ENTRY = new URL('./producer.thread.boot.mjs', import.meta.url);

export interface ThreadedReadingPublisherOptions {
  /** The thread builds its own Kafka client from it (src/kafka/client.ts). */
  kafka: Config['kafka'];
  /** The thread's logger's level and format. */
  log: LogSettings;
  topic: string;
  logger: Logger;
  /** Upper bound on how long a caller waits for Kafka's acknowledgement. */
  ackTimeoutMs: number;
  /** Messages per produce request before the thread flushes without waiting for its tick. Default 10 000. */
  maxBatchMessages?: number;
}

export interface ThreadedReadingPublisher extends ReadingPublisher {
  /** The producer thread while one runs (for tests and operators); a new one starts on demand. */
  readonly thread: Worker | undefined;
}

type ThreadReady = { kind: 'connected' } | { kind: 'unreachable'; error: string } | { kind: 'exited'; code: number };

interface ProducerThread {
  worker: Worker;
  /** Publishes posted to this thread and not answered yet, by id. */
  waiters: Map<number, Waiter>;
  /** How the thread's first connection attempt went, or that the thread exited before one. */
  ready: Promise<ThreadReady>;
  /** Settles when the thread has drained and disconnected, or has exited. */
  drained: Promise<void>;
  exited: Promise<void>;
  /** Set by stop(): the exit that follows is expected. */
  stopping: boolean;
}

/** What the thread is given (its `workerData`): the Kafka and log slices, picked, and the publish settings. */
export function producerThreadSettings(opts: ThreadedReadingPublisherOptions): ProducerThreadSettings {
  return {
    // Picked field by field: workerData is a structured clone of whatever it is given.
    kafka: opts.kafka,
    log: { logLevel: opts.log.logLevel, logFormat: opts.log.logFormat },
    logBindings: opts.logger.bindings(),
    topic: opts.topic,
    ackTimeoutMs: opts.ackTimeoutMs,
    maxBatchMessages: opts.maxBatchMessages ?? DEFAULT_MAX_BATCH_MESSAGES,
  };
}

export function createThreadedReadingPublisher(opts: ThreadedReadingPublisherOptions): ThreadedReadingPublisher {
  const { logger, ackTimeoutMs } = opts;
  const settings = producerThreadSettings(opts);
  const stats: PublishStats = { requests: 0, messages: 0, failures: 0, lastLatencyMs: 0 };
  let current: ProducerThread | undefined;
  let stopped = false;
  let nextId = 1;
  let threadsStarted = 0;

  function startThread(): ProducerThread {
    const worker = new Worker(THREAD_ENTRY, { workerData: settings });
    threadsStarted += 1;
    let onReady!: (ready: ThreadReady) => void;
    let onDrained!: () => void;
    let onExit!: () => void;
    const thread: ProducerThread = {
      worker,
      waiters: new Map(),
      ready: new Promise((r) => (onReady = r)),
      drained: new Promise((r) => (onDrained = r)),
      exited: new Promise((r) => (onExit = r)),
      stopping: false,
    };

    worker.on('message', (message: FromThread) => {
      switch (message.type) {
        case 'ready':
          onReady(message.error === undefined ? { kind: 'connected' } : { kind: 'unreachable', error: message.error });
          return;
        case 'produced': {
          const error = message.error === undefined ? undefined : fromThreadError(message.error);
          recordProduce(publisher, stats, logger, { ...message, error });
          for (const id of message.ids) {
            const w = thread.waiters.get(id);
            if (!w) continue;
            thread.waiters.delete(id);
            if (error === undefined) w.resolve();
            else w.reject(classify(error, ackTimeoutMs));
          }
          return;
        }
        case 'stopped':
          onDrained();
          return;
        default: {
          const never: never = message;
          logger.warn({ message: never }, 'producer thread: unknown message');
        }
      }
    });
    worker.on('error', (err) => {
      logger.error({ err }, 'producer thread failed');
    });
    worker.on('exit', (code) => {
      if (current === thread) current = undefined;
      const pending = thread.waiters.size;
      if (!thread.stopping)
        logger.error(
          { exitCode: code, pendingPublishes: pending },
          'producer thread exited; its pending publishes fail with KAFKA_UNAVAILABLE, the next publish starts a new thread',
        );
      const failure = new AppError(
        ErrorCode.KAFKA_UNAVAILABLE,
        'the Kafka producer stopped before Kafka acknowledged the readings; nothing was accepted, retry later',
        { retriable: true },
      );
      for (const w of thread.waiters.values()) w.reject(failure);
      thread.waiters.clear();
      onReady({ kind: 'exited', code });
      onDrained();
      onExit();
    });
    return thread;
  }

  function threadForPublish(): ProducerThread {
    if (current) return current;
    current = startThread();
    if (threadsStarted > 1) logger.warn({ threadsStarted }, 'started a new producer thread');
    return current;
  }

  const publisher: ThreadedReadingPublisher = {
    get thread() {
      return current?.worker;
    },
    async start() {
      current ??= startThread();
      // The gateway starts even when Kafka is away; the thread connects (again) on demand.
      const ready = await current.ready;
      if (ready.kind === 'unreachable')
        logger.warn({ err: ready.error }, 'Kafka not reachable at start; will connect on first publish');
      // A thread that cannot even load (a broken install) is not something to serve traffic with.
      if (ready.kind === 'exited') throw new Error(`the producer thread exited with code ${ready.code} while starting`);
    },
    async stop() {
      stopped = true;
      const thread = current;
      if (!thread) return;
      thread.stopping = true;
      thread.worker.postMessage({ type: 'stop' } satisfies ToThread);
      // Every request in flight reports before `stopped`; kafkajs bounds each by its retry budget,
      // and this bound keeps a wedged thread from holding the shutdown.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([thread.drained, new Promise<void>((r) => (timer = setTimeout(r, 2 * ackTimeoutMs)))]);
      clearTimeout(timer);
      await thread.worker.terminate();
      await thread.exited;
    },
    publish(readings, requestId) {
      if (stopped) return Promise.reject(shuttingDown());
      const thread = threadForPublish();
      const ids = eventIdsOf(readings);
      const id = nextId++;
      const columns = toColumns(readings, ids);
      const acked = new Promise<void>((resolve, reject) => thread.waiters.set(id, { resolve, reject }));
      const message: ToThread = { type: 'publish', id, requestId, readings: columns };
      thread.worker.postMessage(message, [columns.timesMs.buffer, columns.values.buffer]);
      return withAckTimeout(acked, ackTimeoutMs).then(() => ids);
    },
    stats: () => ({ ...stats }),
  };
  return publisher;
}
