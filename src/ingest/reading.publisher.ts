/**
 * Publishes validated readings to `fitbit_ingestion` and resolves only once Kafka has acknowledged
 * them (acks from all in-sync replicas, idempotent producer).
 *
 * Concurrent `publish` calls that arrive within the same tick are coalesced into one produce
 * request (src/kafka/produce.batcher.ts): under load many mutations share a round trip to the
 * broker, and each caller still learns the fate of its own readings (a failed request fails every
 * caller in it).
 *
 * A publish that Kafka has not acknowledged within `ackTimeoutMs` fails with KAFKA_TIMEOUT. The
 * produce request may still complete after that; the caller was told "not accepted", retries, and
 * the worker's identity key makes the second copy harmless. The reverse (success reported for
 * something Kafka did not take) cannot happen.
 *
 * Two implementations keep this contract: `createReadingPublisher` runs the producer on the
 * calling thread; `createThreadedReadingPublisher` (src/ingest/threaded.publisher.ts) runs it in a
 * worker thread, so that Kafka's encoding does not compete with GraphQL for the main thread.
 */
import type { Kafka } from '../kafka/types.js';
import { AppError, ErrorCode, isRetriable } from '../errors.js';
import { classifyKafkaError, kafkaErrorType } from '../kafka/failure.js';
import type { Logger } from '../logger.js';
import type { ValidReading } from '../domain/reading.js';
import { createProduceBatcher } from '../kafka/produce.batcher.js';
import { createPartitionCount } from '../kafka/partition.count.js';
import { createReadingProducer } from '../kafka/producers.js';
import { eventIdsOf, readingMessages } from './reading.producer.js';

export interface ReadingPublisherOptions {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  /** Upper bound on how long a caller waits for Kafka's acknowledgement. */
  ackTimeoutMs: number;
  /** Messages per produce request before a flush is forced without waiting for the tick. Default 10 000. */
  maxBatchMessages?: number;
}

export interface PublishStats {
  requests: number;
  messages: number;
  failures: number;
  lastLatencyMs: number;
}

export interface ReadingPublisher {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when every reading is acknowledged; returns the event ids used. */
  publish(readings: ValidReading[], requestId?: string): Promise<string[]>;
  stats(): PublishStats;
  /** Observer for produce latency, outcome and size (metrics hook). */
  onProduce?: (latencyMs: number, ok: boolean, messages: number) => void;
}

export const DEFAULT_MAX_BATCH_MESSAGES = 10_000;

export interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Any failure to produce, as the caller sees it: nothing of the readings counts as accepted. It is
 * retriable unless the broker refused the records themselves (classifyKafkaError says `data`):
 * sending the same records again would be refused again.
 */
export function classify(err: unknown, ackTimeoutMs: number): AppError {
  if (err instanceof AppError) return err;
  const e = err as { name?: string; message?: string };
  const retriable = isRetriable(classifyKafkaError(err));
  return new AppError(
    ErrorCode.KAFKA_UNAVAILABLE,
    retriable
      ? `Kafka did not accept the readings (${e.name ?? 'error'}); nothing was accepted, retry later`
      : `Kafka refused the readings (${kafkaErrorType(err) ?? e.name ?? 'error'}); nothing was accepted`,
    {
      retriable,
      details: { ackTimeoutMs },
      cause: err,
    },
  );
}

export function shuttingDown(): AppError {
  return new AppError(ErrorCode.KAFKA_UNAVAILABLE, 'the gateway is shutting down', { retriable: true });
}

/** Waits for Kafka's acknowledgement at most `ackTimeoutMs`, then fails with KAFKA_TIMEOUT. */
export function withAckTimeout<T>(acked: Promise<T>, ackTimeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AppError(
            ErrorCode.KAFKA_TIMEOUT,
            `Kafka did not acknowledge the readings within ${ackTimeoutMs} ms; they were not accepted, retry later`,
            {
              retriable: true,
            },
          ),
        ),
      ackTimeoutMs,
    );
  });
  return Promise.race([acked, timeout])
    .finally(() => clearTimeout(timer))
    .catch((err: unknown) => {
      throw classify(err, ackTimeoutMs);
    });
}

/** Counts one produce request's outcome into `stats` and the publisher's hook; logs a failure. */
export function recordProduce(
  publisher: ReadingPublisher,
  stats: PublishStats,
  logger: Logger,
  outcome: { messages: number; latencyMs: number; error?: { message?: string } | undefined },
): void {
  if (outcome.error === undefined) {
    stats.requests += 1;
    stats.messages += outcome.messages;
    stats.lastLatencyMs = outcome.latencyMs;
  } else {
    stats.failures += 1;
    logger.warn({ err: outcome.error.message, messages: outcome.messages }, 'produce to Kafka failed');
  }
  publisher.onProduce?.(outcome.latencyMs, outcome.error === undefined, outcome.messages);
}

/** The producer on the calling thread. */
export function createReadingPublisher(opts: ReadingPublisherOptions): ReadingPublisher {
  const { kafka, topic, logger, ackTimeoutMs } = opts;
  let stopped = false;
  const stats: PublishStats = { requests: 0, messages: 0, failures: 0, lastLatencyMs: 0 };
  const batcher = createProduceBatcher<Waiter>({
    createProducer: () => createReadingProducer(kafka),
    partitions: createPartitionCount(kafka, topic),
    onProducerReplaced: (err) =>
      logger.warn({ err: (err as Error).message }, 'Kafka producer replaced after a failed request'),
    topic,
    ackTimeoutMs,
    maxBatchMessages: opts.maxBatchMessages ?? DEFAULT_MAX_BATCH_MESSAGES,
    onOutcome(outcome) {
      recordProduce(publisher, stats, logger, { ...outcome, error: outcome.error as Error | undefined });
      for (const w of outcome.tags) {
        if (outcome.error === undefined) w.resolve();
        else w.reject(outcome.error);
      }
    },
  });

  const publisher: ReadingPublisher = {
    async start() {
      // The gateway starts even when Kafka is away; publishing connects (again) on demand.
      await batcher
        .connect()
        .catch((err: unknown) =>
          logger.warn({ err: (err as Error).message }, 'Kafka not reachable at start; will connect on first publish'),
        );
    },
    async stop() {
      stopped = true;
      await batcher.drain();
      await batcher.disconnect();
    },
    publish(readings, requestId) {
      if (stopped) return Promise.reject(shuttingDown());
      const ids = eventIdsOf(readings);
      const acked = new Promise<void>((resolve, reject) =>
        batcher.add(readingMessages(readings, ids, requestId), { resolve, reject }),
      );
      return withAckTimeout(acked, ackTimeoutMs).then(() => ids);
    },
    stats: () => ({ ...stats }),
  };
  return publisher;
}
