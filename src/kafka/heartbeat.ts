/**
 * Keeps the Flink job's event-time clock moving when no readings arrive. The watermark of a Kafka
 * source only advances when a record arrives on a partition, so without this a quiet stream keeps
 * its last windows (and their alerts) open until someone, anywhere, sends a later reading. Every
 * interval this writes one heartbeat record (src/domain/heartbeat.ts) into each partition of the
 * ingestion topic, stamped with the wall clock; the job's watermark then trails the wall clock by
 * the lateness plus at most one interval. Several gateways each writing heartbeats is harmless:
 * the watermark takes the newest time per partition.
 *
 * Failures are logged and the next tick tries again: a missing heartbeat only delays windows.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../logger.js';
import { HEARTBEAT_RECORD_TYPE, RECORD_TYPE_HEADER, heartbeatValue } from '../domain/heartbeat.js';
import { createPartitionCount } from './partition.count.js';

export interface HeartbeatOptions {
  kafka: Kafka;
  topic: string;
  /** Time between two rounds of heartbeats. Must be positive; the caller leaves the heartbeat out to disable it. */
  intervalMs: number;
  logger: Logger;
  /** How often the partition count is read again, so added partitions get heartbeats too. Default 60 000 ms. */
  metadataRefreshMs?: number;
  /** The clock stamped into each heartbeat. Default Date.now. */
  now?: () => number;
}

export interface Heartbeat {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Rounds written and failed since start, for tests and metrics. */
  stats(): { sent: number; failed: number; partitions: number };
}

export function createHeartbeat(opts: HeartbeatOptions): Heartbeat {
  if (!(opts.intervalMs > 0))
    throw new Error(`heartbeat interval: expected a positive number of ms, got ${opts.intervalMs}`);
  const now = opts.now ?? Date.now;
  const refreshMs = opts.metadataRefreshMs ?? 60_000;
  const log = opts.logger.child({ component: 'flink-heartbeat', topic: opts.topic });
  let producer: Producer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let partitions = 0;
  const partitionCount = createPartitionCount(opts.kafka, opts.topic, refreshMs, now);
  let sent = 0;
  let failed = 0;
  let failuresLogged = 0;

  async function beat(): Promise<void> {
    try {
      const n = await partitionCount.get();
      partitions = n;
      const value = heartbeatValue(now());
      // acks 1: a lost heartbeat costs one interval of delay, not data.
      await producer!.send({
        topic: opts.topic,
        acks: 1,
        messages: Array.from({ length: n }, (_, partition) => ({
          partition,
          key: null,
          value,
          headers: { [RECORD_TYPE_HEADER]: HEARTBEAT_RECORD_TYPE },
        })),
      });
      sent += 1;
      failuresLogged = 0;
    } catch (err) {
      failed += 1;
      // One line per outage, not one per tick.
      if (failuresLogged++ === 0) log.warn({ err }, 'heartbeat not written; windows close late until it is');
    }
  }

  const tick = (): void => {
    if (inFlight) return; // a slow broker: skip this tick rather than queue sends behind it
    inFlight = beat().finally(() => (inFlight = undefined));
  };

  return {
    async start() {
      producer = opts.kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      tick();
      timer = setInterval(tick, opts.intervalMs);
      timer.unref();
      log.info({ intervalMs: opts.intervalMs }, 'heartbeat started');
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await inFlight;
      await producer?.disconnect();
      producer = undefined;
    },
    stats: () => ({ sent, failed, partitions }),
  };
}
