/**
 * Splits one fetched batch into rows to insert (valid, first occurrence of each identity) and
 * messages for the DLQ. Pure; unit-tested.
 */
import type { ErrorCode } from '../errors.js';
import type { ValidReading } from '../domain/reading.js';
import type { RawMessage } from '../kafka/headers.js';
import { decodeMessage, isHeartbeat } from './message.decode.js';

export interface SourceMessage extends RawMessage {
  key: Buffer | null;
  offset: string;
  /** Kafka's timestamp of the message (epoch ms as text): when it was appended, for the erasure ledger. */
  timestamp?: string;
}

export interface Row {
  reading: ValidReading;
  /** When the message was appended to the topic (epoch ms), null when Kafka gave no usable time. */
  appendedMs: number | null;
  /** The message it came from, for the DLQ should the database refuse this row alone. */
  source: SourceMessage;
}

export interface Rejected {
  source: SourceMessage;
  code: ErrorCode;
  message: string;
}

export interface BatchPlan {
  rows: Row[];
  rejected: Rejected[];
  /** Valid messages whose identity appeared earlier in the same batch. */
  duplicatesInBatch: number;
  /** Heartbeat records, skipped: neither rows nor DLQ messages. */
  heartbeats: number;
}

/** The identity of docs/contracts.md: (userId, metric, time). U+0000 cannot occur in a valid userId. */
export const identityKey = (r: ValidReading): string => `${r.userId}\u0000${r.metric}\u0000${r.timeMs}`;

/**
 * The message's Kafka timestamp: CreateTime set by the producer (the gateway's clock) unless the
 * topic is configured for LogAppendTime. Kafka writes -1 for messages without one.
 */
export function appendedMs(source: Pick<SourceMessage, 'timestamp'>): number | null {
  const ms = Number(source.timestamp);
  return source.timestamp !== undefined && Number.isFinite(ms) && ms >= 0 ? ms : null;
}

export function planBatch(messages: readonly SourceMessage[], nowMs: number): BatchPlan {
  const rows: Row[] = [];
  const rejected: Rejected[] = [];
  const seen = new Set<string>();
  let duplicatesInBatch = 0;
  let heartbeats = 0;
  for (const source of messages) {
    if (isHeartbeat(source.headers)) {
      heartbeats += 1;
      continue;
    }
    const d = decodeMessage(source, nowMs);
    if (!d.ok) {
      rejected.push({ source, code: d.code, message: d.message });
      continue;
    }
    const key = identityKey(d.reading);
    // The first in offset order wins, as it would had the messages come in separate batches.
    if (seen.has(key)) {
      duplicatesInBatch += 1;
      continue;
    }
    seen.add(key);
    rows.push({ reading: d.reading, appendedMs: appendedMs(source), source });
  }
  return { rows, rejected, duplicatesInBatch, heartbeats };
}
