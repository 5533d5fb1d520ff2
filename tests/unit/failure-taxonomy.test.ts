/**
 * One failure taxonomy (FailureKind in src/errors.ts) for the Postgres, Kafka and Trino paths: the
 * same network failure is `unavailable` whichever adapter meets it, every service error a client
 * sees carries its code and `retriable`, and an unknown error is masked outside development.
 */
import { GraphQLError } from 'graphql';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  ErrorCode,
  formatError,
  formatOptionsFor,
  isRetriable,
  NETWORK_ERROR_CODES,
  networkErrorCode,
} from '../../src/errors.js';
import { fromThreadError, toThreadError } from '../../src/ingest/producer.protocol.js';
import { classify } from '../../src/ingest/reading.publisher.js';
import { classifyKafkaError } from '../../src/kafka/failure.js';
import { classifyDatabaseError, classifyDbError } from '../../src/timescale/pg.failure.js';
import { fromPageError, fromTransportError, TrinoError } from '../../src/trino/trino.errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
/** What Node's fetch rejects with when nothing listens: the socket's error is the cause. */
const fetchFailed = (code: string) => new TypeError('fetch failed', { cause: withCode(`connect ${code}`, code) });
/** What a connect to a name with two addresses (::1 and 127.0.0.1) rejects with. */
const bothAddressesRefused = () =>
  new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED'), withCode('x', 'ECONNREFUSED')]);

describe('network failures', () => {
  it('are found in the error, its cause, or any error of an AggregateError', () => {
    expect(networkErrorCode(withCode('read ECONNRESET', 'ECONNRESET'))).toBe('ECONNRESET');
    expect(networkErrorCode(fetchFailed('ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(networkErrorCode(bothAddressesRefused())).toBe('ECONNREFUSED');
    expect(networkErrorCode(withCode('duplicate key', '23505'))).toBeUndefined();
    expect(networkErrorCode(undefined)).toBeUndefined();
    // A cycle of causes ends.
    const a: { code: string; cause?: unknown } = { code: 'X' };
    a.cause = { code: 'Y', cause: a };
    expect(networkErrorCode(a)).toBeUndefined();
  });

  it.each([...NETWORK_ERROR_CODES])('%s is unavailable for Postgres, Kafka and Trino alike', (code) => {
    expect(classifyDatabaseError(withCode(`connect ${code}`, code))).toBe('unavailable');
    expect(classifyKafkaError(withCode(`connect ${code}`, code))).toBe('unavailable');
    const trino = fromTransportError(fetchFailed(code), undefined);
    expect(trino.code).toBe(ErrorCode.TRINO_UNAVAILABLE);
    expect(trino.retriable).toBe(true);
  });

  it('only an unavailable service is worth the same request again', () => {
    expect(isRetriable('unavailable')).toBe(true);
    expect(isRetriable('data')).toBe(false);
    expect(isRetriable('unknown')).toBe(false);
  });
});

describe('Postgres: one classifier for the worker and the read paths', () => {
  it.each([
    [bothAddressesRefused(), 'unavailable', ErrorCode.DATABASE_UNAVAILABLE],
    [withCode('canceling statement due to statement timeout', '57014'), 'unavailable', ErrorCode.DATABASE_UNAVAILABLE],
    [withCode('deadlock detected', '40P01'), 'unavailable', ErrorCode.DATABASE_UNAVAILABLE],
    [withCode('could not serialize access', '40001'), 'unavailable', ErrorCode.DATABASE_UNAVAILABLE],
    [withCode('canceling statement due to lock timeout', '55P03'), 'unavailable', ErrorCode.DATABASE_UNAVAILABLE],
    [
      new Error('Client has encountered a connection error and is not queryable'),
      'unavailable',
      ErrorCode.DATABASE_UNAVAILABLE,
    ],
    [withCode('relation "readings" does not exist', '42P01'), 'unknown', undefined],
    // A SQLSTATE decides before the message does.
    [withCode('permission denied for connection', '42501'), 'unknown', undefined],
    [withCode('value too long', '22001'), 'data', undefined],
  ])('%s -> %s', (err, kind, code) => {
    expect(classifyDatabaseError(err)).toBe(kind);
    const answered = classifyDbError(err);
    if (code === undefined) {
      // Passed on unchanged: formatError masks it.
      expect(answered).toBe(err);
    } else {
      expect(answered).toBeInstanceOf(AppError);
      expect((answered as AppError).code).toBe(code);
      expect((answered as AppError).retriable).toBe(true);
    }
  });
});

/** kafkajs builds its protocol errors from the broker's error entry (its types say Error). */
const protocolError = (entry: { type: string; code: number; retriable: boolean; message: string }) =>
  new KafkaJSProtocolError(entry as unknown as Error);

describe("Kafka: the broker decides, not kafkajs's retry flag", () => {
  const tooLarge = protocolError({
    type: 'MESSAGE_TOO_LARGE',
    code: 10,
    retriable: false,
    message: 'The request included a message larger than the max message size the server will accept',
  });
  const leaderless = protocolError({
    type: 'LEADER_NOT_AVAILABLE',
    code: 5,
    retriable: true,
    message: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
  });
  const denied = protocolError({
    type: 'TOPIC_AUTHORIZATION_FAILED',
    code: 29,
    retriable: false,
    message: 'Not authorized to access topics: [Topic authorization failed]',
  });
  const retriesSpent = new KafkaJSNumberOfRetriesExceeded(
    new KafkaJSConnectionError('Connection error: ECONNREFUSED'),
    {
      retryCount: 8,
      retryTime: 1000,
    },
  );

  it('classifies what the broker said, through kafkajs wrappers', () => {
    expect(retriesSpent.retriable).toBe(false);
    expect(classifyKafkaError(retriesSpent)).toBe('unavailable');
    expect(classifyKafkaError(leaderless)).toBe('unavailable');
    expect(classifyKafkaError(tooLarge)).toBe('data');
    expect(classifyKafkaError(new KafkaJSNumberOfRetriesExceeded(tooLarge, { retryCount: 0, retryTime: 0 }))).toBe(
      'data',
    );
    expect(classifyKafkaError(denied)).toBe('unknown');
    expect(classifyKafkaError(new Error('the producer thread exited (code 1)'))).toBe('unavailable');
  });

  it('gives a mutation KAFKA_UNAVAILABLE, retriable unless the broker refused the records, across the producer thread', () => {
    for (const [err, retriable] of [
      [retriesSpent, true],
      [leaderless, true],
      [tooLarge, false],
    ] as const) {
      const crossed = fromThreadError(structuredClone(toThreadError(err)));
      for (const seen of [classify(err, 3000), classify(crossed, 3000)]) {
        expect(seen.code).toBe(ErrorCode.KAFKA_UNAVAILABLE);
        expect(seen.retriable).toBe(retriable);
        expect(seen.extensions.retriable).toBe(retriable);
      }
    }
  });
});

describe('Trino: its errors are the API errors', () => {
  it('a TrinoError is an AppError that keeps its code, retriable flag, and hides the detail', () => {
    const err = fromPageError(
      { errorName: 'CLUSTER_OUT_OF_MEMORY', errorType: 'INSUFFICIENT_RESOURCES', message: 'on host trino-7' },
      'q1',
    );
    expect(err).toBeInstanceOf(TrinoError);
    expect(err).toBeInstanceOf(AppError);
    const shown = formatError({ message: 'x' }, new GraphQLError('x', { originalError: err }), {
      development: false,
      hideSchemaDetails: true,
    });
    expect(shown.extensions).toEqual({ code: ErrorCode.TRINO_UNAVAILABLE, retriable: true });
    expect(shown.message).not.toContain('trino-7');
  });
});

describe('unknown errors', () => {
  const leaked = new Error('connection string postgres://secret@db leaked');
  const raw = { message: leaked.message, path: ['leaderboard'] };

  it('are masked unless NODE_ENV is development', () => {
    for (const env of ['production', 'test'] as const) {
      const shown = formatError(raw, leaked, formatOptionsFor(env, true));
      expect(shown).toEqual({
        message: 'Unexpected error.',
        path: ['leaderboard'],
        locations: undefined,
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      });
    }
  });

  it('keep their message in development, coded INTERNAL_SERVER_ERROR', () => {
    const shown = formatError(raw, leaked, formatOptionsFor('development', true));
    expect(shown.message).toBe(leaked.message);
    expect(shown.extensions?.code).toBe(ErrorCode.INTERNAL_SERVER_ERROR);
  });
});
