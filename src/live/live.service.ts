/**
 * The live part of the gateway: the hub that subscriptions read from and the consumer that feeds
 * it. Started before the HTTP server listens; stopped after it has closed.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { WireMetric } from '../domain/metrics.js';
import { createLiveConsumer } from './consumer.js';
import type { LiveAlert, LiveWindow } from './events.js';
import { LiveHub, type LiveStats } from './hub.js';
import type { Subscriber } from './subscriber.js';
import { DeadLetterRing, type DeadLetter } from './dead-letters.js';

export interface LiveService {
  subscribeWindows(userId: string, metrics?: readonly WireMetric[] | null): Subscriber<LiveWindow>;
  subscribeAlerts(userId?: string | null): Subscriber<LiveAlert>;
  /** Counts for health and metrics: live subscribers, dropped and duplicate events, buffers. */
  stats(): LiveStats;
  /** The dead-letter topic's most recent messages, newest first. */
  deadLetters(limit: number): DeadLetter[];
  /** Completes every open subscription; called on shutdown before the sockets close. */
  completeAll(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createLiveService(config: Config, logger: Logger, kafka: Kafka): LiveService {
  const hub = new LiveHub({ bufferSize: config.live.bufferSize, dedupEntries: config.live.dedupEntries });
  const deadLetters = new DeadLetterRing();
  const consumer = createLiveConsumer(config, logger, kafka, hub, deadLetters);
  return {
    subscribeWindows: (userId, metrics) => hub.subscribeWindows(userId, metrics),
    subscribeAlerts: (userId) => hub.subscribeAlerts(userId),
    stats: () => hub.stats(),
    deadLetters: (limit) => deadLetters.recent(limit),
    completeAll: () => hub.completeAll(),
    start: () => consumer.start(),
    async stop() {
      hub.completeAll();
      await consumer.stop();
    },
  };
}
