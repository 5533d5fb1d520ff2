/**
 * The soak's window check: the job's tumbling windows recomputed here from what went in, and
 * compared with what the job wrote to its processed topic. Only windows the job must have closed
 * are compared. The job counts every copy on the ingestion topic (a batch retried after an
 * ambiguous failure may be there twice; the table keeps one), so the reference is the topic's own
 * readings; windows that differ from the acknowledged readings only by such copies are counted apart.
 */

export interface WindowReading {
  userId: string;
  timeMs: number;
  value: number;
}

export interface WindowFigures {
  count: number;
  sum: number;
}

/** Metric window v1 as read from the processed topic (docs/contracts.md). */
export interface EmittedWindow {
  userId: string;
  metric: string;
  windowStart: string;
  windowEnd: string;
  count: number;
  sum: number;
}

export const windowKey = (userId: string, startMs: number): string => `${userId}|${startMs}`;

/** Count and sum per user and epoch-aligned window of `windowMs`. */
export function aggregate(readings: Iterable<WindowReading>, windowMs: number): Map<string, WindowFigures> {
  const out = new Map<string, WindowFigures>();
  for (const r of readings) {
    const key = windowKey(r.userId, r.timeMs - (r.timeMs % windowMs));
    const w = out.get(key) ?? { count: 0, sum: 0 };
    w.count += 1;
    w.sum += r.value;
    out.set(key, w);
  }
  return out;
}

export interface WindowCheck {
  /** Closed windows the reference expects. */
  compared: number;
  /** Expected but never emitted. */
  missing: string[];
  /** Emitted with other figures than the reference. */
  mismatched: { key: string; emitted: WindowFigures; expected: WindowFigures }[];
  /** Emitted for a closed window the reference has no readings for. */
  unexpected: string[];
  /** Emitted more than once with different figures (a repeat after a restart must be identical). */
  conflicting: string[];
  /** Emitted more than once with the same figures (at-least-once after a restart; consumers de-duplicate). */
  repeated: number;
  /** Closed windows whose figures differ from the acknowledged readings only through copies on the topic. */
  withTopicCopies: number;
}

const same = (a: WindowFigures, b: WindowFigures): boolean =>
  a.count === b.count && Math.abs(a.sum - b.sum) <= 1e-6 * Math.max(1, Math.abs(b.sum));

/**
 * Compares the emitted windows with the recomputation from the topic's readings (`fromTopic`), for
 * windows that end at or before `closedBefore`; `fromAcknowledged` only classifies the differences.
 */
export function checkWindows(input: {
  emitted: EmittedWindow[];
  fromTopic: Map<string, WindowFigures>;
  fromAcknowledged: Map<string, WindowFigures>;
  windowMs: number;
  closedBefore: number;
}): WindowCheck {
  const { emitted, fromTopic, fromAcknowledged, windowMs, closedBefore } = input;
  const closed = (key: string): boolean => Number(key.slice(key.lastIndexOf('|') + 1)) + windowMs <= closedBefore;
  const seen = new Map<string, WindowFigures>();
  const conflicting = new Set<string>();
  let repeated = 0;
  for (const w of emitted) {
    const key = windowKey(w.userId, Date.parse(w.windowStart));
    const figures = { count: w.count, sum: w.sum };
    const before = seen.get(key);
    if (before === undefined) seen.set(key, figures);
    else if (same(before, figures)) repeated += 1;
    else conflicting.add(key);
  }
  const check: WindowCheck = {
    compared: 0,
    missing: [],
    mismatched: [],
    unexpected: [],
    conflicting: [...conflicting],
    repeated,
    withTopicCopies: 0,
  };
  for (const [key, expected] of fromTopic) {
    if (!closed(key)) continue;
    check.compared += 1;
    const got = seen.get(key);
    if (got === undefined) check.missing.push(key);
    else if (!same(got, expected)) check.mismatched.push({ key, emitted: got, expected });
    const acknowledged = fromAcknowledged.get(key);
    if (acknowledged === undefined || !same(acknowledged, expected)) check.withTopicCopies += 1;
  }
  for (const key of seen.keys()) if (closed(key) && !fromTopic.has(key)) check.unexpected.push(key);
  return check;
}
