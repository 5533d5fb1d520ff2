/**
 * Metric window v1 and alert v1 (docs/contracts.md) as read from the output topics. Parsed and
 * checked once per event at ingress, so every subscriber shares one immutable object.
 */
import { USER_ID_PATTERN, parseRfc3339 } from './reading.js';
import { isWireMetric, type WireMetric } from './metrics.js';

export interface LiveWindow {
  userId: string;
  metric: WireMetric;
  windowStart: Date;
  windowEnd: Date;
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
}

export interface LiveAlert {
  alertId: string;
  userId: string;
  kind: string;
  time: Date;
  message: string;
  details: Record<string, unknown> | null;
}

export type ParseResult<T> = { ok: true; event: T } | { ok: false; reason: string };

const bad = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function parseJson(raw: Buffer | string | null): unknown {
  if (raw === null) return undefined;
  try {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function time(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = parseRfc3339(v);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

export function parseWindow(raw: Buffer | string | null): ParseResult<LiveWindow> {
  const v = parseJson(raw);
  if (!isObject(v)) return bad('not a JSON object');
  const { userId, metric, count, avg, min, max, sum } = v;
  if (typeof userId !== 'string' || !USER_ID_PATTERN.test(userId))
    return bad('userId: expected 1 to 64 of [A-Za-z0-9_.:@-]');
  if (!isWireMetric(metric))
    return bad(`metric: expected a catalogue metric in lower snake case, got ${JSON.stringify(metric)}`);
  const windowStart = time(v.windowStart);
  const windowEnd = time(v.windowEnd);
  if (!windowStart || !windowEnd) return bad('windowStart/windowEnd: expected RFC 3339 strings');
  if (windowEnd.getTime() <= windowStart.getTime()) return bad('windowEnd: expected after windowStart');
  if (!isFiniteNumber(count) || !Number.isInteger(count) || count < 0) return bad('count: expected a whole number');
  if (!isFiniteNumber(avg) || !isFiniteNumber(min) || !isFiniteNumber(max) || !isFiniteNumber(sum)) {
    return bad('avg/min/max/sum: expected finite numbers');
  }
  return { ok: true, event: { userId, metric, windowStart, windowEnd, count, avg, min, max, sum } };
}

export function parseAlert(raw: Buffer | string | null): ParseResult<LiveAlert> {
  const v = parseJson(raw);
  if (!isObject(v)) return bad('not a JSON object');
  const { alertId, userId, kind, message, details } = v;
  if (typeof alertId !== 'string' || alertId.length === 0 || alertId.length > 512)
    return bad('alertId: expected a non-empty string');
  if (typeof userId !== 'string' || !USER_ID_PATTERN.test(userId))
    return bad('userId: expected 1 to 64 of [A-Za-z0-9_.:@-]');
  if (typeof kind !== 'string' || kind.length === 0) return bad('kind: expected a non-empty string');
  if (typeof message !== 'string') return bad('message: expected a string');
  const t = time(v.time);
  if (!t) return bad('time: expected an RFC 3339 string');
  if (details !== undefined && details !== null && !isObject(details)) return bad('details: expected an object');
  return { ok: true, event: { alertId, userId, kind, time: t, message, details: details ?? null } };
}

/** The identity of a window (docs/contracts.md): a repeat has the same key. */
export const windowKey = (w: LiveWindow): string =>
  `w\u0000${w.userId}\u0000${w.metric}\u0000${w.windowStart.getTime()}`;
/** What the window says; an emission with the same key but another fingerprint is an update. */
export const windowFingerprint = (w: LiveWindow): string =>
  `${w.windowEnd.getTime()}|${w.count}|${w.sum}|${w.min}|${w.max}`;
export const alertKey = (a: LiveAlert): string => `a\u0000${a.alertId}`;
