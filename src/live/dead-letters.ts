/**
 * The dead-letter topic's most recent messages, as the gateway's live consumer reads them, for the
 * dashboard's pipeline page and the `deadLetters` query. Kept in memory, newest last, at most
 * `capacity`; on start the consumer reads back the last few per partition, so the list is not
 * empty after a restart.
 */
import { headerText, type RawMessage } from '../kafka/headers.js';

export interface DeadLetter {
  partition: number;
  offset: string;
  /** When the worker published it (the Kafka timestamp). */
  time: Date;
  /** The worker's `error-code` header, e.g. INVALID_TIME. */
  code: string;
  /** The worker's `error-message` header. */
  message: string;
  /** The `request-id` of the mutation that produced the reading, when a gateway produced it. */
  requestId: string | undefined;
  /** The refused message as received, cut to VALUE_PREVIEW characters. */
  value: string;
}

export const VALUE_PREVIEW = 500;

export class DeadLetterRing {
  private readonly items: DeadLetter[] = [];

  constructor(private readonly capacity = 200) {}

  add(partition: number, message: RawMessage & { offset: string; timestamp: string }): void {
    const text = (name: string): string | undefined => {
      const v = headerText(message.headers, name);
      return Array.isArray(v) ? v[0] : v;
    };
    this.items.push({
      partition,
      offset: message.offset,
      time: new Date(Number(message.timestamp)),
      code: text('error-code') ?? 'UNKNOWN',
      message: text('error-message') ?? '',
      requestId: text('request-id'),
      value: (message.value?.toString('utf8') ?? '').slice(0, VALUE_PREVIEW),
    });
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }

  /** Newest first (by the time the worker published them; partitions arrive in any order). */
  recent(limit: number): DeadLetter[] {
    return [...this.items].sort((a, b) => b.time.getTime() - a.time.getTime()).slice(0, limit);
  }
}
