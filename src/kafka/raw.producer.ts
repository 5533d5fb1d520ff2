/**
 * The simulator's side door to Kafka: writes a message to the ingestion topic as is, the way a
 * producer that does not go through the gateway would, so the worker's dead-letter path has
 * something to show. Connected lazily; a broker that cannot be reached fails that one send.
 */
import type { Producer } from 'kafkajs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createKafka } from './client.js';

export interface RawProducer {
  send(key: string, value: string): Promise<void>;
  stop(): Promise<void>;
}

export function createRawProducer(settings: Config['kafka'], logger: Logger): RawProducer {
  const kafka = createKafka(settings, logger, { clientId: `${settings.clientId}-demo`, retries: 2 });
  let producer: Promise<Producer> | undefined;
  const connected = (): Promise<Producer> => {
    producer ??= (async () => {
      const p = kafka.producer({ allowAutoTopicCreation: false });
      try {
        await p.connect();
        return p;
      } catch (err) {
        producer = undefined;
        throw err;
      }
    })();
    return producer;
  };
  return {
    async send(key, value) {
      const p = await connected();
      await p.send({ topic: settings.topics.ingestion, acks: -1, messages: [{ key, value }] });
    },
    async stop() {
      const p = producer;
      producer = undefined;
      if (p) await (await p.catch(() => undefined))?.disconnect();
    },
  };
}
