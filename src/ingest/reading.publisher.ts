/**
 * Publishes validated readings to `fitbit_ingestion` and resolves only once Kafka has acknowledged
 * them (acks from all in-sync replicas, idempotent producer).
 *
 * Concurrent `publish` calls that arrive within the same tick are coalesced into one produce
 * request: under load many mutations share a round trip to the broker, and each caller still
 * learns the fate of its own readings (a failed request fails every caller in it).
 *
 * A publish that Kafka has not acknowledged within `ackTimeoutMs` fails with KAFKA_TIMEOUT. The
 * produce request may still complete after that; the caller was told "not accepted", retries, and
 * the worker's identity key makes the second copy harmless. The reverse (success reported for
 * something Kafka did not take) cannot happen.
 */
import { randomUUID } from 'node:crypto';
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { AppError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { READING_SCHEMA_VERSION, toWire, type ValidReading } from '../domain/reading.js';

export interface ReadingPublisherOptions {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  /** Upper bound on how long a caller waits for Kafka's acknowledgement. */
  ackTimeoutMs: number;
  /** Messages per produce request before a flush is forced without waiting for the tick. */
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

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

function classify(err: unknown, ackTimeoutMs: number): AppError {
  if (err instanceof AppError) return err;
  const e = err as { name?: string; message?: string; retriable?: boolean };
  return new AppError(
    ErrorCode.KAFKA_UNAVAILABLE,
    `Kafka did not accept the readings (${e.name ?? 'error'}); nothing was accepted, retry later`,
    {
      retriable: true,
      details: { ackTimeoutMs },
      cause: err,
    },
  );
}

export function createReadingPublisher(opts: ReadingPublisherOptions): ReadingPublisher {
  const { kafka, topic, logger, ackTimeoutMs } = opts;
  const maxBatch = opts.maxBatchMessages ?? 10_000;
  const producer: Producer = kafka.producer({
    // The Java client's murmur2 partitioner: a user's readings land in the partition any other
    // producer (or Flink) would pick for the same key.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Bounded, so that an outage surfaces as an error within the ack timeout rather than never.
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });

  let connected = false;
  let connecting: Promise<void> | undefined;
  let stopped = false;
  let pending: Message[] = [];
  let waiters: Waiter[] = [];
  let scheduled = false;
  const inFlight = new Set<Promise<void>>();
  const stats: PublishStats = { requests: 0, messages: 0, failures: 0, lastLatencyMs: 0 };

  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });

  function ensureConnected(): Promise<void> {
    if (connected) return Promise.resolve();
    connecting ??= producer.connect().then(
      () => {
        connected = true;
        connecting = undefined;
      },
      (err: unknown) => {
        connecting = undefined;
        throw err;
      },
    );
    return connecting;
  }

  function flush(): void {
    scheduled = false;
    if (pending.length === 0) return;
    const messages = pending;
    const batchWaiters = waiters;
    pending = [];
    waiters = [];
    const started = performance.now();
    const request = ensureConnected()
      .then(() =>
        producer.send({ topic, acks: -1, timeout: ackTimeoutMs, compression: CompressionTypes.None, messages }),
      )
      .then(
        () => {
          const ms = performance.now() - started;
          stats.requests += 1;
          stats.messages += messages.length;
          stats.lastLatencyMs = ms;
          publisher.onProduce?.(ms, true, messages.length);
          for (const w of batchWaiters) w.resolve();
        },
        (err: unknown) => {
          stats.failures += 1;
          publisher.onProduce?.(performance.now() - started, false, messages.length);
          logger.warn({ err: (err as Error).message, messages: messages.length }, 'produce to Kafka failed');
          for (const w of batchWaiters) w.reject(err);
        },
      );
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }

  function withTimeout(p: Promise<void>): Promise<void> {
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
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  const publisher: ReadingPublisher = {
    async start() {
      // The gateway starts even when Kafka is away; publishing connects (again) on demand.
      await ensureConnected().catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'Kafka not reachable at start; will connect on first publish'),
      );
    },
    async stop() {
      stopped = true;
      if (scheduled) flush();
      await Promise.allSettled([...inFlight]);
      await producer.disconnect().catch(() => undefined);
    },
    publish(readings, requestId) {
      if (stopped)
        return Promise.reject(
          new AppError(ErrorCode.KAFKA_UNAVAILABLE, 'the gateway is shutting down', { retriable: true }),
        );
      const ids: string[] = new Array<string>(readings.length);
      const headers = requestId
        ? { 'schema-version': READING_SCHEMA_VERSION, 'request-id': requestId }
        : { 'schema-version': READING_SCHEMA_VERSION };
      for (let i = 0; i < readings.length; i += 1) {
        const r = readings[i]!;
        const eventId = r.eventId ?? randomUUID();
        ids[i] = eventId;
        pending.push({ key: r.userId, value: JSON.stringify(toWire(r, eventId)), headers });
      }
      const acked = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      if (pending.length >= maxBatch) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return withTimeout(acked).then(
        () => ids,
        (err: unknown) => {
          throw err instanceof AppError ? err : classify(err, ackTimeoutMs);
        },
      );
    },
    stats: () => ({ ...stats }),
  };
  return publisher;
}
