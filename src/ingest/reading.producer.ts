/**
 * What `fitbit_ingestion` gets from the gateway, wherever its producer runs (in process or in the
 * producer thread): the producer's settings and the messages of a batch of validated readings.
 */
import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { READING_SCHEMA_VERSION, toWire, type ValidReading } from '../domain/reading.js';

export function createReadingProducer(kafka: Kafka): Producer {
  return kafka.producer({
    // The Java client's murmur2 partitioner: a user's readings land in the partition any other
    // producer (or Flink) would pick for the same key.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Bounded, so that an outage surfaces as an error within the ack timeout rather than never.
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** The reading's own event id, or a fresh one: the id the worker de-duplicates on. */
export function eventIdsOf(readings: ValidReading[]): string[] {
  const ids = new Array<string>(readings.length);
  for (let i = 0; i < readings.length; i += 1) ids[i] = readings[i]!.eventId ?? randomUUID();
  return ids;
}

/** Reading v1 messages keyed by user; `eventIds[i]` belongs to `readings[i]`. */
export function readingMessages(readings: ValidReading[], eventIds: string[], requestId?: string): Message[] {
  const headers = requestId
    ? { 'schema-version': READING_SCHEMA_VERSION, 'request-id': requestId }
    : { 'schema-version': READING_SCHEMA_VERSION };
  const messages = new Array<Message>(readings.length);
  for (let i = 0; i < readings.length; i += 1) {
    const r = readings[i]!;
    messages[i] = { key: r.userId, value: JSON.stringify(toWire(r, eventIds[i]!)), headers };
  }
  return messages;
}
