/** What crosses the producer thread's boundary: readings as columns, and produce errors. */
import { describe, expect, it } from 'vitest';
import type { ValidReading } from '../../src/domain/reading.js';
import { AppError } from '../../src/errors.js';
import { fromColumns, fromThreadError, toColumns, toThreadError } from '../../src/ingest/producer.protocol.js';
import { classify } from '../../src/ingest/reading.publisher.js';
import { readingMessages } from '../../src/ingest/reading.producer.js';

const readings: ValidReading[] = [
  {
    eventId: 'evt-1',
    userId: 'user-1',
    metric: 'heart_rate',
    timeMs: 1_767_225_600_123,
    value: 71.5,
    deviceId: 'charge6',
  },
  {
    eventId: undefined,
    userId: 'user-2',
    metric: 'skin_temperature_delta',
    timeMs: 0,
    value: -0.4,
    deviceId: undefined,
  },
  { eventId: undefined, userId: 'user:3@x', metric: 'steps', timeMs: 1_767_225_600_000, value: 0, deviceId: '' },
];
const eventIds = ['evt-1', 'generated-2', 'generated-3'];

describe('producer thread protocol', () => {
  it('carries readings as columns that give the thread the same messages the main thread would produce', () => {
    const columns = structuredClone(toColumns(readings, eventIds));
    const back = fromColumns(columns);
    expect(back).toEqual(readings.map((r, i) => ({ ...r, eventId: eventIds[i] })));
    expect(readingMessages(back, columns.eventIds, 'req-1')).toEqual(readingMessages(readings, eventIds, 'req-1'));
    // An empty device id stays a device id; an absent one stays absent.
    const values = readingMessages(back, eventIds).map((m) => JSON.parse(String(m.value)) as Record<string, unknown>);
    expect(values.map((v) => v.deviceId)).toEqual(['charge6', undefined, '']);
  });

  it('turns a produce error into the same KAFKA_UNAVAILABLE the in-process publisher reports', () => {
    const kafkaError = Object.assign(new Error('There is no leader for this topic-partition'), {
      name: 'KafkaJSProtocolError',
      retriable: true,
    });
    const crossed = fromThreadError(structuredClone(toThreadError(kafkaError)));
    expect(crossed).toMatchObject({ name: 'KafkaJSProtocolError', message: kafkaError.message, retriable: true });
    const seen = classify(crossed, 3000);
    const direct = classify(kafkaError, 3000);
    expect(seen).toBeInstanceOf(AppError);
    expect(seen.code).toBe('KAFKA_UNAVAILABLE');
    expect(seen.message).toBe(direct.message);
    expect(seen.extensions).toEqual(direct.extensions);
    expect(toThreadError('a string')).toEqual({ name: 'Error', message: 'a string', retriable: false });
  });
});
