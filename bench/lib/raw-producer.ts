/**
 * The raw side of the ingest benchmarks: readings per second from one idempotent kafkajs producer
 * (`maxInFlightRequests` 1, acks -1) with `clients` concurrent sends of the messages the gateway
 * would write for the same readings.
 */
import { randomUUID } from 'node:crypto';
import { CompressionTypes, type Kafka } from 'kafkajs';
import { readingBatch, SERIES_DEVICE, seriesBatch } from './ingest-load.js';

/** What one request carries: readings of many users (ingestReadings) or one user's series (ingestSeries). */
export type Shape = 'readings' | 'series';

/** Readings sent and the seconds they took (the ingest bench keeps both, to add rounds up). */
export async function rawProducerRun(
  kafka: Kafka,
  opts: { topic: string; size: number; seconds: number; clients: number; shape?: Shape },
): Promise<{ sent: number; seconds: number }> {
  const { topic, size, seconds, clients, shape = 'readings' } = opts;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const batches = Array.from({ length: clients * 4 }, (_, k) =>
    (shape === 'series' ? seriesBatch : readingBatch)(k, size).map((r) => ({
      key: r.userId,
      value: JSON.stringify({
        eventId: randomUUID(),
        userId: r.userId,
        metric: 'heart_rate',
        time: r.time,
        value: r.value,
        ...(shape === 'series' ? { deviceId: SERIES_DEVICE } : {}),
      }),
      headers: { 'schema-version': '1' },
    })),
  );
  await producer.send({ topic, acks: -1, messages: batches[0]! });
  let sent = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let k = c;
      while (Date.now() < deadline) {
        const messages = batches[k % batches.length]!;
        await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
        sent += messages.length;
        k += clients;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await producer.disconnect();
  return { sent, seconds: elapsed };
}

/** Readings per second of one run. */
export async function rawProducerRate(
  kafka: Kafka,
  opts: { topic: string; size: number; seconds: number; clients: number; shape?: Shape },
): Promise<number> {
  const { sent, seconds } = await rawProducerRun(kafka, opts);
  return sent / seconds;
}
