/**
 * Coalesces messages into produce requests on one idempotent kafkajs producer: what is added while
 * the previous request flies (up to `maxBatchMessages`) goes out as the next request, with acks from
 * all in-sync replicas, and the request's outcome is reported once, with the tag of every `add` it
 * carried. Under load many mutations share one round trip to the brokers; a failed request fails
 * every tag in it.
 *
 * Two rules keep "acknowledged" meaning "written", and both exist because of how kafkajs numbers
 * an idempotent producer's batches. When a produce request fails, kafkajs hands the batch's
 * sequence numbers back, and the next batch for that partition reuses them. But a failed request
 * may have been written all the same (a timeout waiting for a frozen replica, a connection cut
 * after the leader appended): the broker then takes the next batch, same producer id and same
 * sequence, for a retry of that one, answers success and drops it. So:
 *  - after any failed request the producer is retired and a new one (a new producer id, fresh
 *    sequences) sends what comes next; the failed readings are the client's to retry, and the
 *    worker's identity key absorbs a copy that did land;
 *  - one round of requests is in flight at a time, so no batch is queued behind a failure on the
 *    producer that failed. The next round collects meanwhile, which also makes requests larger
 *    under load.
 * And a third, for a kafkajs fault: one `send` that spans several leaders remembers which *brokers*
 * answered, not which partitions; when a failed broker's partitions move to a broker that already
 * answered, the retry skips them and the send resolves without having written them. So a round is
 * one `send` per partition (the partition computed here, with the partitioner every producer of
 * the project uses), and each send's retry goes to its partition's new leader.
 *
 * Transport-free: the in-process publisher tags with its waiters, the producer thread with the
 * batch ids it answers the main thread about.
 */
import { CompressionTypes, type Message, type Producer } from 'kafkajs';
import type { PartitionCount } from './partition.count.js';
import { keyPartition } from './partitioner.js';

export interface ProduceOutcome<T> {
  tags: T[];
  messages: number;
  latencyMs: number;
  /** Set when Kafka did not acknowledge the request; absent on success. */
  error?: unknown;
}

export interface ProduceBatcherOptions<T> {
  /** Makes the idempotent producer; called once at the start and again after every failed request. */
  createProducer(): Producer;
  topic: string;
  /** The topic's partition count, for placing each keyed message before it is sent. */
  partitions: PartitionCount;
  /** The broker's bound on waiting for in-sync replicas (the produce request's `timeout`). */
  ackTimeoutMs: number;
  /** Messages per produce request at most (one `add` is never split). */
  maxBatchMessages: number;
  onOutcome(outcome: ProduceOutcome<T>): void;
  /** Told when a producer is retired after a failed request (for a log line or a metric). */
  onProducerReplaced?(error: unknown): void;
}

export interface ProduceBatcher<T> {
  /** Connects now; rejects when Kafka is not reachable (a later send connects again). */
  connect(): Promise<void>;
  add(messages: Message[], tag: T): void;
  /** Sends what is pending and waits until every request has reported its outcome. */
  drain(): Promise<void>;
  disconnect(): Promise<void>;
}

interface Entry<T> {
  messages: Message[];
  tag: T;
}

/** The producer in use and whether it is connected; replaced as a whole after a failure. */
interface Current {
  producer: Producer;
  connected: boolean;
  connecting: Promise<void> | undefined;
}

export function createProduceBatcher<T>(opts: ProduceBatcherOptions<T>): ProduceBatcher<T> {
  const { createProducer, topic, partitions, ackTimeoutMs, maxBatchMessages, onOutcome, onProducerReplaced } = opts;
  let pending: Entry<T>[] = [];
  let pendingMessages = 0;
  let scheduled = false;
  let inFlight: Promise<void> | undefined;
  const retiring = new Set<Promise<void>>();

  const fresh = (): Current => {
    const current: Current = { producer: createProducer(), connected: false, connecting: undefined };
    current.producer.on(current.producer.events.DISCONNECT, () => {
      current.connected = false;
    });
    return current;
  };
  let current = fresh();

  function connect(): Promise<void> {
    const c = current;
    if (c.connected) return Promise.resolve();
    c.connecting ??= c.producer.connect().then(
      () => {
        c.connected = true;
        c.connecting = undefined;
      },
      (err: unknown) => {
        c.connecting = undefined;
        throw err;
      },
    );
    return c.connecting;
  }

  function replaceProducer(error: unknown): void {
    const old = current;
    current = fresh();
    const gone = old.producer.disconnect().catch(() => undefined);
    retiring.add(gone);
    void gone.finally(() => retiring.delete(gone));
    onProducerReplaced?.(error);
  }

  /** Takes whole entries from the front of the queue, up to `maxBatchMessages` messages (at least one entry). */
  function take(): Entry<T>[] {
    let count = 0;
    let n = 0;
    while (n < pending.length) {
      const size = pending[n]!.messages.length;
      if (n > 0 && count + size > maxBatchMessages) break;
      count += size;
      n += 1;
    }
    const taken = pending.slice(0, n);
    pending = pending.slice(n);
    pendingMessages -= count;
    return taken;
  }

  /** One `send` per partition; the messages without a string key (none today) go together, placed by kafkajs. */
  async function sendRound(producer: Producer, messages: Message[]): Promise<void> {
    const count = await partitions.get();
    const byPartition = new Map<number, Message[]>();
    for (const m of messages) {
      const p = typeof m.key === 'string' ? keyPartition(m.key, count) : -1;
      const list = byPartition.get(p);
      if (list) list.push(p === -1 ? m : { ...m, partition: p });
      else byPartition.set(p, [p === -1 ? m : { ...m, partition: p }]);
    }
    const sends = [...byPartition.values()].map((list) =>
      producer.send({ topic, acks: -1, timeout: ackTimeoutMs, compression: CompressionTypes.None, messages: list }),
    );
    const results = await Promise.allSettled(sends);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  function flush(): void {
    scheduled = false;
    if (inFlight !== undefined || pending.length === 0) return;
    const entries = take();
    const messages = entries.flatMap((e) => e.messages);
    const tags = entries.map((e) => e.tag);
    const started = performance.now();
    const producer = current.producer;
    inFlight = connect()
      .then(() => sendRound(producer, messages))
      .then(
        () => onOutcome({ tags, messages: messages.length, latencyMs: performance.now() - started }),
        (error: unknown) => {
          if (current.producer === producer) replaceProducer(error);
          onOutcome({ tags, messages: messages.length, latencyMs: performance.now() - started, error });
        },
      )
      .finally(() => {
        inFlight = undefined;
        flush();
      });
  }

  return {
    connect,
    add(messages, tag) {
      pending.push({ messages, tag });
      pendingMessages += messages.length;
      if (inFlight !== undefined) return; // sent when the request in flight completes
      if (pendingMessages >= maxBatchMessages) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    async drain() {
      if (scheduled) flush();
      while (inFlight !== undefined || pending.length > 0) {
        if (inFlight === undefined) flush();
        await inFlight;
      }
    },
    async disconnect() {
      await Promise.allSettled([...retiring]);
      await current.producer.disconnect().catch(() => undefined);
    },
  };
}
