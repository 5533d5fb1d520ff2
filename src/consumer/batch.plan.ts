/**
 * Splits one fetched batch into rows to insert (valid, first occurrence of each identity) and
 * messages for the DLQ. Pure; unit-tested.
 */
import type { ErrorCode } from '../errors.js';
import type { ValidReading } from '../domain/reading.js';
import { decodeMessage, isHeartbeat, type RawMessage } from './message.decode.js';

export interface SourceMessage extends RawMessage {
  key: Buffer | null;
  offset: string;
}

export interface Row {
  reading: ValidReading;
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
    rows.push({ reading: d.reading, source });
  }
  return { rows, rejected, duplicatesInBatch, heartbeats };
}
