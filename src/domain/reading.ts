/**
 * Reading v1 (docs/contracts.md) and its validation. The same functions check a mutation's input
 * (the DateTime scalar, then `checkFields`) and an untrusted Kafka message (`checkReading`), and
 * the gateway publishes only what `checkReading` accepts back from the wire: the worker never
 * refuses a reading the gateway acknowledged. Hand-written (no per-object reflection validators)
 * because it sits on the bulk-ingest hot path.
 */
import { ErrorCode, quote } from '../errors.js';
import { METRICS, isWireMetric, type WireMetric } from './metrics.js';
import { isoString } from './iso-time.js';

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
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const MAX_FUTURE_MS = 5 * 60_000;
/** Earliest instant a reading or a query range may name: the Unix epoch. */
export const EARLIEST_INSTANT_MS = 0;
/**
 * Latest instant a query range may name, and past every reading's (which are at most minutes
 * ahead of now): 9999-01-01T00:00:00Z, so every bucket and label stays a four-digit-year RFC 3339
 * instant.
 */
export const LATEST_INSTANT_MS = Date.UTC(9999, 0, 1);
const MAX_ID_LENGTH = 128;

const refusal = (code: ErrorCode, message: string): Extract<ReadingCheck, { ok: false }> => ({
  ok: false,
  code,
  message,
});
const fail: (code: ErrorCode, message: string) => ReadingCheck = refusal;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (year: number, month: number): number => (month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]!);

/**
 * Parses an RFC 3339 timestamp with an offset or Z to epoch milliseconds (a finer fraction is
 * truncated); NaN when it is not one. Stricter than Date.parse, which moves impossible dates
 * (`2024-02-30` becomes March 1st, `T24:00:00` the next day): every field must be in its range
 * for that month and year. A leap second (`:60`) is refused; no stored instant can hold it.
 */
export function parseRfc3339(value: string): number {
  const canonical = parseCanonical(value);
  return canonical === undefined ? parseRfc3339Pattern(value) : canonical;
}

const isDigit = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
};
const digits = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i += 1) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
};
/** Character positions of the digits in `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
const CANONICAL_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

/**
 * The canonical form, `YYYY-MM-DDTHH:MM:SS.mmmZ` (toISOString's, what the gateway writes and most
 * clients send), read without the regular expression: the same result as parseRfc3339Pattern, or
 * undefined for any other shape (and for years before 100, which Date.UTC would move), which the
 * pattern then reads.
 */
function parseCanonical(v: string): number | undefined {
  if (
    v.length !== 24 ||
    v.charCodeAt(4) !== 45 ||
    v.charCodeAt(7) !== 45 ||
    v.charCodeAt(10) !== 84 ||
    v.charCodeAt(13) !== 58 ||
    v.charCodeAt(16) !== 58 ||
    v.charCodeAt(19) !== 46 ||
    v.charCodeAt(23) !== 90
  ) {
    return undefined;
  }
  for (const i of CANONICAL_DIGITS) if (!isDigit(v, i)) return undefined;
  const year = digits(v, 0, 4);
  if (year < 100) return undefined;
  const month = digits(v, 5, 7);
  const day = digits(v, 8, 10);
  const hour = digits(v, 11, 13);
  const minute = digits(v, 14, 16);
  const second = digits(v, 17, 19);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, digits(v, 20, 23));
}

/** parseRfc3339 by the regular expression, for every shape RFC 3339 allows. Exported for tests. */
export function parseRfc3339Pattern(value: string): number {
  const m = RFC3339.exec(value);
  if (!m) return Number.NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return Number.NaN;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const millis = m[7] ? Number(m[7].slice(1, 4).padEnd(3, '0')) : 0;
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  date.setUTCFullYear(year);
  return date.getTime() - offsetMinutes * 60_000;
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
 * whose input GraphQL has already typed. In this order: the subject (userId, metric), then time
 * and value, then the ids; the first rule broken is the one reported.
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
  const subject = checkSubject(userId, metric);
  if (subject) return subject;
  const measure = checkMeasure(metric as WireMetric, timeMs, value, nowMs);
  if (measure) return measure;
  const ids = checkIds(eventId, deviceId);
  if (ids) return ids;
  return { ok: true, reading: { eventId, userId, metric: metric as WireMetric, timeMs, value, deviceId } };
}

/** A failed check of checkFields' first rules: whose reading it is and what. Undefined when they hold. */
export function checkSubject(userId: string, metric: string): Extract<ReadingCheck, { ok: false }> | undefined {
  if (!USER_ID_PATTERN.test(userId)) {
    return refusal(ErrorCode.INVALID_USER_ID, 'userId: expected 1 to 64 characters of A-Z a-z 0-9 _ . : @ -');
  }
  if (!isWireMetric(metric)) return refusal(ErrorCode.INVALID_METRIC, `metric: unknown metric ${quote(metric)}`);
  return undefined;
}

/** checkFields' rules on time and value, for a metric that passed checkSubject. */
export function checkMeasure(
  metric: WireMetric,
  timeMs: number,
  value: number,
  nowMs: number,
): Extract<ReadingCheck, { ok: false }> | undefined {
  if (!Number.isFinite(timeMs)) return refusal(ErrorCode.INVALID_TIME, 'time: expected a valid timestamp');
  // Before the epoch, toISOString can write a year the wire format does not allow ("-000001-..."):
  // such a reading would be acknowledged here and refused by the worker.
  if (timeMs < EARLIEST_INSTANT_MS) {
    return refusal(ErrorCode.INVALID_TIME, 'time: expected 1970-01-01T00:00:00Z or later');
  }
  if (timeMs > nowMs + MAX_FUTURE_MS) {
    return refusal(ErrorCode.TIME_IN_FUTURE, 'time: more than 5 minutes in the future');
  }
  if (!Number.isFinite(value)) return refusal(ErrorCode.VALUE_NOT_FINITE, 'value: expected a finite number');
  const range = METRICS[metric];
  if (value < range.min || value > range.max) {
    return refusal(
      ErrorCode.VALUE_OUT_OF_RANGE,
      `value: ${metric} must be within ${range.min} to ${range.max} ${range.unit}`,
    );
  }
  return undefined;
}

/** checkFields' last rules, on the optional ids. */
export function checkIds(
  eventId: string | undefined,
  deviceId: string | undefined,
): Extract<ReadingCheck, { ok: false }> | undefined {
  // U+0000 cannot be stored in a Postgres text column: refuse it here rather than at insert time.
  if (eventId !== undefined && (eventId.length === 0 || eventId.length > MAX_ID_LENGTH || eventId.includes('\u0000'))) {
    return refusal(ErrorCode.INVALID_FIELD, `eventId: expected 1 to ${MAX_ID_LENGTH} characters, no NUL`);
  }
  if (deviceId !== undefined && (deviceId.length > MAX_ID_LENGTH || deviceId.includes('\u0000'))) {
    return refusal(ErrorCode.INVALID_FIELD, `deviceId: expected at most ${MAX_ID_LENGTH} characters, no NUL`);
  }
  return undefined;
}

/**
 * The identity a stored reading is unique by (the table's primary key): a second reading with the
 * same identity is a duplicate, stored once.
 */
export function identityOf(r: Pick<ValidReading, 'userId' | 'metric' | 'timeMs'>): string {
  return `${r.userId}\u0000${r.metric}\u0000${r.timeMs}`;
}

/** The wire form of a valid reading (time normalised to UTC with milliseconds). */
export function toWire(r: ValidReading, eventId: string): ReadingV1 {
  const out: ReadingV1 = {
    eventId,
    userId: r.userId,
    metric: r.metric,
    time: isoString(r.timeMs),
    value: r.value,
  };
  if (r.deviceId !== undefined) out.deviceId = r.deviceId;
  return out;
}

/**
 * `JSON.stringify(toWire(r, eventId))`, character for character, without the object in between:
 * the gateway writes one per reading it publishes. A valid reading's userId (USER_ID_PATTERN) and
 * metric (the catalogue's keys) need no escaping, its time is ASCII and its value finite, whose
 * number text is JSON's; the event and device ids are escaped by JSON.stringify.
 */
export function wireJson(r: ValidReading, eventId: string): string {
  const head = `{"eventId":${JSON.stringify(eventId)},"userId":"${r.userId}","metric":"${r.metric}","time":"${isoString(r.timeMs)}","value":${r.value}`;
  return r.deviceId === undefined ? `${head}}` : `${head},"deviceId":${JSON.stringify(r.deviceId)}}`;
}
