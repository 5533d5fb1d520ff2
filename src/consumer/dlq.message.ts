/**
 * The dead-letter message of docs/contracts.md: key and value exactly as received, the
 * original headers kept, and five headers saying why and from where. Pure; unit-tested.
 */
import type { IHeaders, Message } from '../kafka/types.js';
import type { ErrorCode } from '../errors.js';
import type { SourceMessage } from './batch.plan.js';

export const DLQ_HEADERS = {
  code: 'error-code',
  message: 'error-message',
  topic: 'source-topic',
  partition: 'source-partition',
  offset: 'source-offset',
} as const;

const MAX_ERROR_MESSAGE = 1000;

export function dlqMessage(
  source: SourceMessage,
  failure: { code: ErrorCode; message: string },
  from: { topic: string; partition: number },
): Message {
  const headers: IHeaders = { ...source.headers };
  headers[DLQ_HEADERS.code] = failure.code;
  headers[DLQ_HEADERS.message] = failure.message.slice(0, MAX_ERROR_MESSAGE);
  headers[DLQ_HEADERS.topic] = from.topic;
  headers[DLQ_HEADERS.partition] = String(from.partition);
  headers[DLQ_HEADERS.offset] = source.offset;
  return { key: source.key, value: source.value, headers };
}
