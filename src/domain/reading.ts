/**
 * Reading v1 (DESIGN.md, contract) and its validation. The same function checks a mutation's
 * input and an untrusted Kafka message, so both paths accept and refuse exactly the same things.
 * It is hand-written (no per-object reflection validators) because it sits on the bulk-ingest hot path.
 */
import { ErrorCode } from '../errors.js';
import { METRICS, isWireMetric, type WireMetric } from './metrics.js';

export interface ReadingV1 {
  eventId?: string;
  userId: string;
  metric: WireMetric;
  time: string;
  value: number;
  deviceId?: string;
}

/** A validated reading, with its time parsed. */
export interface ValidReading {
  eventId: string | undefined;
  userId: string;
  metric: WireMetric;
  /** Milliseconds since the epoch (millisecond precision, as stored). */
  timeMs: number;
  value: number;
  deviceId: string | undefined;
}

export type ReadingCheck = { ok: true; reading: ValidReading } | { ok: false; code: ErrorCode; message: string };

export const READING_SCHEMA_VERSION = '1';
export const USER_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,64}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const MAX_FUTURE_MS = 5 * 60_000;
const MAX_ID_LENGTH = 128;

const fail = (code: ErrorCode, message: string): ReadingCheck => ({ ok: false, code, message });

/** Parses an RFC 3339 timestamp with an offset or Z; NaN when it is not one. */
export function parseRfc3339(value: string): number {
  if (!RFC3339.test(value)) return Number.NaN;
  return Date.parse(value);
}

/**
 * Checks one reading. `input` may be anything (parsed JSON from another producer); `nowMs` is the
 * clock the future-time rule is measured against.
 */
export function checkReading(input: unknown, nowMs: number): ReadingCheck {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail(ErrorCode.INVALID_FIELD, 'expected a JSON object with userId, metric, time and value');
  }
  const { userId, metric, time, value, eventId, deviceId } = input as Record<string, unknown>;
  if (typeof userId !== 'string') return fail(ErrorCode.INVALID_FIELD, 'userId: expected a string');
  if (typeof metric !== 'string') return fail(ErrorCode.INVALID_FIELD, 'metric: expected a string');
  if (typeof time !== 'string') return fail(ErrorCode.INVALID_FIELD, 'time: expected an RFC 3339 string');
  if (typeof value !== 'number') return fail(ErrorCode.INVALID_FIELD, 'value: expected a number');
  if (eventId !== undefined && eventId !== null && typeof eventId !== 'string') {
    return fail(ErrorCode.INVALID_FIELD, 'eventId: expected a string');
  }
  if (deviceId !== undefined && deviceId !== null && typeof deviceId !== 'string') {
    return fail(ErrorCode.INVALID_FIELD, 'deviceId: expected a string');
  }
  const timeMs = parseRfc3339(time);
  if (Number.isNaN(timeMs)) return fail(ErrorCode.INVALID_TIME, 'time: expected RFC 3339 with an offset or Z');
  return checkFields(userId, metric, timeMs, value, eventId ?? undefined, deviceId ?? undefined, nowMs);
}

/**
 * The rules once the types are right: shared by `checkReading` (untrusted JSON) and the mutation,
 * whose input GraphQL has already typed.
 */
export function checkFields(
  userId: string,
  metric: string,
  timeMs: number,
  value: number,
  eventId: string | undefined,
  deviceId: string | undefined,
  nowMs: number,
): ReadingCheck {
  if (!USER_ID_PATTERN.test(userId)) {
    return fail(ErrorCode.INVALID_USER_ID, 'userId: expected 1 to 64 characters of A-Z a-z 0-9 _ . : @ -');
  }
  if (!isWireMetric(metric)) return fail(ErrorCode.INVALID_METRIC, `metric: unknown metric "${metric.slice(0, 64)}"`);
  if (!Number.isFinite(timeMs)) return fail(ErrorCode.INVALID_TIME, 'time: expected a valid timestamp');
  if (timeMs > nowMs + MAX_FUTURE_MS) return fail(ErrorCode.TIME_IN_FUTURE, 'time: more than 5 minutes in the future');
  if (!Number.isFinite(value)) return fail(ErrorCode.VALUE_NOT_FINITE, 'value: expected a finite number');
  const range = METRICS[metric];
  if (value < range.min || value > range.max) {
    return fail(
      ErrorCode.VALUE_OUT_OF_RANGE,
      `value: ${metric} must be within ${range.min} to ${range.max} ${range.unit}`,
    );
  }
  // U+0000 cannot be stored in a Postgres text column: refuse it here rather than at insert time.
  if (eventId !== undefined && (eventId.length === 0 || eventId.length > MAX_ID_LENGTH || eventId.includes('\u0000'))) {
    return fail(ErrorCode.INVALID_FIELD, `eventId: expected 1 to ${MAX_ID_LENGTH} characters, no NUL`);
  }
  if (deviceId !== undefined && (deviceId.length > MAX_ID_LENGTH || deviceId.includes('\u0000'))) {
    return fail(ErrorCode.INVALID_FIELD, `deviceId: expected at most ${MAX_ID_LENGTH} characters, no NUL`);
  }
  return { ok: true, reading: { eventId, userId, metric, timeMs, value, deviceId } };
}

/** The wire form of a valid reading (time normalised to UTC with milliseconds). */
export function toWire(r: ValidReading, eventId: string): ReadingV1 {
  const out: ReadingV1 = {
    eventId,
    userId: r.userId,
    metric: r.metric,
    time: new Date(r.timeMs).toISOString(),
    value: r.value,
  };
  if (r.deviceId !== undefined) out.deviceId = r.deviceId;
  return out;
}
