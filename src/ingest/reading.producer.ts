/**
 * What `fitbit_ingestion` gets from the gateway, wherever its producer runs (in process or in the
 * producer thread): the messages of a batch of validated readings. The producer's settings are in
 * src/kafka/producers.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from '../kafka/types.js';
import { READING_SCHEMA_VERSION, wireJson, type ValidReading } from '../domain/reading.js';

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
    messages[i] = { key: r.userId, value: wireJson(r, eventIds[i]!), headers };
  }
  return messages;
}
