/**
 * Internal: the messages between the gateway's main thread (src/ingest/threaded.publisher.ts) and
 * its producer thread (src/ingest/producer.thread.ts).
 *
 * Readings cross as columns (one array per field, numbers in typed arrays) rather than one object
 * per reading: the structured clone costs the main thread less, and the thread, not the main
 * thread, turns them into JSON.
 */
import type { Config } from '../config.js';
import type { LogSettings } from '../logger.js';
import type { WireMetric } from '../domain/metrics.js';
import type { ValidReading } from '../domain/reading.js';
import { kafkaErrorType } from '../kafka/failure.js';

/**
 * The thread's `workerData`: the Kafka and log slices of the configuration and nothing else (no
 * credentials of other services, no JWT secret), copied into the thread as they are.
 */
export interface ProducerThreadSettings {
  /** For `createKafka` (brokers, client id). */
  kafka: Config['kafka'];
  /** For the thread's logger. */
  log: LogSettings;
  /** The publisher logger's bindings (`logger.bindings()`), so the thread's lines read like its own. */
  logBindings: Record<string, unknown>;
  topic: string;
  ackTimeoutMs: number;
  maxBatchMessages: number;
}

export interface ReadingColumns {
  userIds: string[];
  metrics: WireMetric[];
  timesMs: Float64Array<ArrayBuffer>;
  values: Float64Array<ArrayBuffer>;
  /** The event ids the main thread chose and returns to the caller. */
  eventIds: string[];
  deviceIds: (string | undefined)[];
}

/** A produce error as it crosses the thread boundary (kafkajs errors carry `retriable`). */
export interface ThreadError {
  name: string;
  message: string;
  retriable: boolean;
  /** The broker's error type, when it gave one: what classifyKafkaError (src/kafka/failure.ts) reads. */
  type?: string;
}

export type ToThread =
  | { type: 'publish'; id: number; requestId: string | undefined; readings: ReadingColumns }
  /** Send what is pending, wait for every request in flight, disconnect, answer `stopped`. */
  | { type: 'stop' };

export type FromThread =
  /** The first connection attempt is over; `error` when Kafka was not reachable. */
  | { type: 'ready'; error?: string }
  /** One produce request's outcome, for every publish (`ids`) it carried. */
  | { type: 'produced'; ids: number[]; messages: number; latencyMs: number; error?: ThreadError }
  | { type: 'stopped' };

export function toColumns(readings: ValidReading[], eventIds: string[]): ReadingColumns {
  const n = readings.length;
  const columns: ReadingColumns = {
    userIds: new Array<string>(n),
    metrics: new Array<WireMetric>(n),
    timesMs: new Float64Array(n),
    values: new Float64Array(n),
    eventIds,
    deviceIds: new Array<string | undefined>(n),
  };
  for (let i = 0; i < n; i += 1) {
    const r = readings[i]!;
    columns.userIds[i] = r.userId;
    columns.metrics[i] = r.metric;
    columns.timesMs[i] = r.timeMs;
    columns.values[i] = r.value;
    columns.deviceIds[i] = r.deviceId;
  }
  return columns;
}

export function fromColumns(columns: ReadingColumns): ValidReading[] {
  const n = columns.userIds.length;
  const readings = new Array<ValidReading>(n);
  for (let i = 0; i < n; i += 1) {
    readings[i] = {
      eventId: columns.eventIds[i],
      userId: columns.userIds[i]!,
      metric: columns.metrics[i]!,
      timeMs: columns.timesMs[i]!,
      value: columns.values[i]!,
      deviceId: columns.deviceIds[i],
    };
  }
  return readings;
}

export function toThreadError(err: unknown): ThreadError {
  const e = err as { name?: unknown; message?: unknown; retriable?: unknown } | null | undefined;
  const type = kafkaErrorType(err);
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(err),
    retriable: e?.retriable === true,
    ...(type !== undefined ? { type } : {}),
  };
}

/** The thread's error as an Error again on the main thread, for `classify` and the logs. */
export function fromThreadError(e: ThreadError): Error & { retriable: boolean; type?: string } {
  return Object.assign(new Error(e.message), {
    name: e.name,
    retriable: e.retriable,
    ...(e.type !== undefined ? { type: e.type } : {}),
  });
}
