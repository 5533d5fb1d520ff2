/** The one place kafkajs clients are configured: brokers, client id, retry budget, logging. */
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export interface KafkaClientOptions {
  clientId?: string;
  /** Attempts per request before kafkajs gives up (its default, 5, makes outages slow to report). */
  retries?: number;
  requestTimeoutMs?: number;
}

/** Takes the Kafka slice of the configuration only: the producer thread holds nothing else. */
export function createKafka(kafka: Config['kafka'], logger: Logger, opts: KafkaClientOptions = {}): Kafka {
  return new Kafka({
    clientId: opts.clientId ?? kafka.clientId,
    brokers: kafka.brokers,
    connectionTimeout: 3000,
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    retry: { retries: opts.retries ?? 5, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...rest } = log;
        // kafkajs logs every reconnect attempt as an error; they are retried, so warn is honest.
        logger[levels[level] === 'error' ? 'warn' : (levels[level] ?? 'info')]({ kafka: rest }, message);
      },
  });
}
