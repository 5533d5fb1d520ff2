/**
 * Internal: the body of the producer thread (started by src/ingest/threaded.publisher.ts through
 * producer.thread.boot.mjs). It owns the gateway's idempotent kafkajs producer: it turns the
 * main thread's reading columns into reading v1 messages, coalesces them into produce requests,
 * and answers each request's outcome with the ids of the publishes it carried. Timeouts and the
 * callers' promises stay on the main thread.
 */
// First: replaces kafkajs's quadratic per-partition grouping before kafkajs loads.
import '../kafka/partition-grouping.install.js';
import { parentPort, workerData } from 'node:worker_threads';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../logger.js';
import { createProduceBatcher } from '../kafka/produce.batcher.js';
import { createPartitionCount } from '../kafka/partition.count.js';
import {
  fromColumns,
  toThreadError,
  type FromThread,
  type ProducerThreadSettings,
  type ToThread,
} from './producer.protocol.js';
import { createReadingProducer } from '../kafka/producers.js';
import { readingMessages } from './reading.producer.js';

if (!parentPort) throw new Error('producer.thread.ts runs inside a worker thread (src/ingest/threaded.publisher.ts)');
const port = parentPort;
const settings = workerData as ProducerThreadSettings;
const post = (message: FromThread) => port.postMessage(message);

// Its own logger, bound like the publisher's on the main thread: kafkajs reports reconnects here.
const { name, service: _service, ...bindings } = settings.logBindings;
const logger = createLogger(settings.log, typeof name === 'string' ? name : 'gateway').child({
  ...bindings,
  thread: 'producer',
});
const kafka = createKafka(settings.kafka, logger);
const batcher = createProduceBatcher<number>({
  createProducer: () => createReadingProducer(kafka),
  partitions: createPartitionCount(kafka, settings.topic),
  onProducerReplaced: (err) =>
    logger.warn({ err: (err as Error).message }, 'Kafka producer replaced after a failed request'),
  topic: settings.topic,
  ackTimeoutMs: settings.ackTimeoutMs,
  maxBatchMessages: settings.maxBatchMessages,
  onOutcome({ tags, messages, latencyMs, error }) {
    post({
      type: 'produced',
      ids: tags,
      messages,
      latencyMs,
      ...(error === undefined ? {} : { error: toThreadError(error) }),
    });
  },
});

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'publish': {
      const { readings, requestId, id } = message;
      batcher.add(readingMessages(fromColumns(readings), readings.eventIds, requestId), id);
      return;
    }
    case 'stop':
      void batcher
        .drain()
        .then(() => batcher.disconnect())
        .then(() => post({ type: 'stopped' }));
      return;
    default: {
      const never: never = message;
      throw new Error(`producer thread: unknown message ${JSON.stringify(never)}`);
    }
  }
});

batcher.connect().then(
  () => post({ type: 'ready' }),
  (err: unknown) => post({ type: 'ready', error: toThreadError(err).message }),
);
