/**
 * Reading a Kafka message's headers and value as text, shared by every reader of a topic (the
 * worker's decoder, the dead letters the live service reads back). Pure; unit-tested.
 */
import type { IHeaders } from './types.js';

/** The parts of a kafkajs message a decoder looks at. */
export interface RawMessage {
  value: Buffer | null;
  headers?: IHeaders | undefined;
}

// A module-level function, not a closure: this runs once per header on the bulk path.
function textOf(v: Buffer | string | undefined): string {
  return v === undefined ? '' : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** A header as text; several values under one name (allowed by Kafka) are returned as a list. */
export function headerText(headers: IHeaders | undefined, name: string): string | string[] | undefined {
  const raw = headers?.[name];
  if (raw === undefined) return undefined;
  return Array.isArray(raw) ? raw.map(textOf) : textOf(raw);
}
