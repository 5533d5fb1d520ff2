/**
 * Turns one raw Kafka message of the ingestion topic into a reading, or into the reason it is
 * refused. The topic is open to producers other than the gateway, so nothing about a message is
 * trusted: header, JSON, field types and ranges are all checked. Pure; unit-tested.
 */
import { headerText, type RawMessage } from '../kafka/headers.js';
import type { IHeaders } from '../kafka/types.js';
import { ErrorCode } from '../errors.js';
import { READING_SCHEMA_VERSION, checkReading, type ValidReading } from '../domain/reading.js';
import { HEARTBEAT_RECORD_TYPE, RECORD_TYPE_HEADER } from '../domain/heartbeat.js';

export const SCHEMA_VERSION_HEADER = 'schema-version';

export type Decoded = { ok: true; reading: ValidReading } | { ok: false; code: ErrorCode; message: string };

const refuse = (code: ErrorCode, message: string): Decoded => ({ ok: false, code, message });

// A module-level function, not a closure: this runs once per message on the bulk path.
const isCurrentVersion = (x: string): boolean => x.trim() === READING_SCHEMA_VERSION;

/**
 * The header `schema-version` may be absent (plain producers that write reading v1 as docs/contracts.md
 * shows it, without headers) or '1'. Anything else is a version this worker cannot read, so it
 * goes to the DLQ rather than being guessed at.
 */
function checkSchemaVersion(headers: IHeaders | undefined): Decoded | undefined {
  const v = headerText(headers, SCHEMA_VERSION_HEADER);
  if (v === undefined) return undefined;
  if (Array.isArray(v) ? v.every(isCurrentVersion) : isCurrentVersion(v)) return undefined;
  return refuse(
    ErrorCode.UNSUPPORTED_SCHEMA_VERSION,
    `header ${SCHEMA_VERSION_HEADER}: expected absent or "${READING_SCHEMA_VERSION}", got ${JSON.stringify(Array.isArray(v) ? v : v.slice(0, 32))}`,
  );
}

/**
 * A heartbeat (src/domain/heartbeat.ts) is there for the Flink job's watermark only: it is neither
 * a reading nor an error, so it is skipped without a row and without a DLQ copy.
 */
export function isHeartbeat(headers: IHeaders | undefined): boolean {
  return headerText(headers, RECORD_TYPE_HEADER) === HEARTBEAT_RECORD_TYPE;
}

export function decodeMessage(message: RawMessage, nowMs: number): Decoded {
  const version = checkSchemaVersion(message.headers);
  if (version) return version;
  if (message.value === null || message.value.length === 0) {
    return refuse(ErrorCode.INVALID_JSON, 'value: expected a reading v1 JSON object, got an empty message');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.value.toString('utf8'));
  } catch (err) {
    return refuse(ErrorCode.INVALID_JSON, `value: not JSON (${(err as Error).message.slice(0, 120)})`);
  }
  const checked = checkReading(parsed, nowMs);
  if (!checked.ok) return checked;
  // Postgres text cannot hold U+0000; refusing here keeps one bad field from failing a whole INSERT.
  const { deviceId, eventId } = checked.reading;
  if (deviceId?.includes('\u0000')) return refuse(ErrorCode.INVALID_FIELD, 'deviceId: must not contain U+0000');
  if (eventId?.includes('\u0000')) return refuse(ErrorCode.INVALID_FIELD, 'eventId: must not contain U+0000');
  return checked;
}
