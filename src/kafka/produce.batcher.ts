/**
 * Coalesces messages into produce requests on one kafkajs producer: what is added within the same
 * tick (up to `maxBatchMessages`) goes out as one request with acks from all in-sync replicas, and
 * the request's outcome is reported once, with the tag of every `add` it carried. Under load many
 * mutations share one round trip to the broker; a failed request fails every tag in it.
 *
 * Transport-free: the in-process publisher tags with its waiters, the producer thread with the
 * batch ids it answers the main thread about.
 */
import { CompressionTypes, type Message, type Producer } from 'kafkajs';

export interface ProduceOutcome<T> {
  tags: T[];
  messages: number;
  latencyMs: number;
  /** Set when Kafka did not acknowledge the request; absent on success. */
  error?: unknown;
}

export interface ProduceBatcherOptions<T> {
  producer: Producer;
  topic: string;
  /** The broker's bound on waiting for in-sync replicas (the produce request's `timeout`). */
  ackTimeoutMs: number;
  /** Messages per produce request before a flush is forced without waiting for the tick. */
  maxBatchMessages: number;
  onOutcome(outcome: ProduceOutcome<T>): void;
}

export interface ProduceBatcher<T> {
  /** Connects now; rejects when Kafka is not reachable (a later send connects again). */
  connect(): Promise<void>;
  add(messages: Message[], tag: T): void;
  /** Sends what is pending and waits until every request in flight has reported its outcome. */
  drain(): Promise<void>;
  disconnect(): Promise<void>;
}

export function createProduceBatcher<T>(opts: ProduceBatcherOptions<T>): ProduceBatcher<T> {
  const { producer, topic, ackTimeoutMs, maxBatchMessages, onOutcome } = opts;
  let connected = false;
  let connecting: Promise<void> | undefined;
  let pending: Message[] = [];
  let tags: T[] = [];
  let scheduled = false;
  const inFlight = new Set<Promise<void>>();

  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });

  function connect(): Promise<void> {
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
    const batchTags = tags;
    pending = [];
    tags = [];
    const started = performance.now();
    const request = connect()
      .then(() =>
        producer.send({ topic, acks: -1, timeout: ackTimeoutMs, compression: CompressionTypes.None, messages }),
      )
      .then(
        () => onOutcome({ tags: batchTags, messages: messages.length, latencyMs: performance.now() - started }),
        (error: unknown) =>
          onOutcome({ tags: batchTags, messages: messages.length, latencyMs: performance.now() - started, error }),
      );
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }

  return {
    connect,
    add(messages, tag) {
      for (const m of messages) pending.push(m);
      tags.push(tag);
      if (pending.length >= maxBatchMessages) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    async drain() {
      if (scheduled) flush();
      await Promise.allSettled([...inFlight]);
    },
    async disconnect() {
      await producer.disconnect().catch(() => undefined);
    },
  };
}
