/**
 * Kafka failures in the shared taxonomy (src/errors.ts, FailureKind). kafkajs marks its errors
 * `retriable`, but that word is about its own retry of one request: once its retries are spent it
 * throws KafkaJSNumberOfRetriesExceeded, not retriable, for what is in fact a broker away. So the
 * kind is read from what the broker said (a protocol error's `type`, anywhere in the `cause`
 * chain) and everything else counts as unavailable. Pure; unit-tested.
 */
import type { FailureKind } from '../errors.js';

/** The broker refused these records: the same records are refused again. */
const REFUSED_RECORDS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
]);

/** The broker refused this client (credentials, ACLs): an operator's problem, not the records'. */
const REFUSED_CLIENT = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
]);

/** The broker's error type (a kafkajs KafkaJSProtocolError's `type`) of `err` or of an error it wraps. */
export function kafkaErrorType(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur !== null && typeof cur === 'object'; depth += 1) {
    const type = (cur as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * `data` when the broker refused the records, `unknown` when it refused the client (or the
 * client's SASL handshake failed), `unavailable` otherwise: no connection, a timeout, a leader
 * moving, retries spent, a producer thread that died.
 */
export function classifyKafkaError(err: unknown): FailureKind {
  const type = kafkaErrorType(err);
  if (type !== undefined && REFUSED_RECORDS.has(type)) return 'data';
  if (type !== undefined && REFUSED_CLIENT.has(type)) return 'unknown';
  if ((err as { name?: unknown } | null | undefined)?.name === 'KafkaJSSASLAuthenticationError') return 'unknown';
  return 'unavailable';
}
