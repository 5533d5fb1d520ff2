/** The soak's window check (bench/lib/soak-windows.ts): recomputation and comparison with what the job emitted. */
import { describe, expect, it } from 'vitest';
import { aggregate, checkWindows, windowKey, type EmittedWindow } from '../../bench/lib/soak-windows.js';

const MINUTE = 60_000;
const t0 = Date.parse('2026-12-05T10:00:00Z');
const emitted = (userId: string, start: number, count: number, sum: number): EmittedWindow => ({
  userId,
  metric: 'heart_rate',
  windowStart: new Date(start).toISOString().replace('.000Z', 'Z'),
  windowEnd: new Date(start + MINUTE).toISOString().replace('.000Z', 'Z'),
  count,
  sum,
});

describe('the soak window check', () => {
  const readings = [
    { userId: 'a', timeMs: t0 + 1, value: 60 },
    { userId: 'a', timeMs: t0 + MINUTE - 1, value: 70 },
    { userId: 'a', timeMs: t0 + MINUTE, value: 80 },
    { userId: 'b', timeMs: t0 + 5, value: 90 },
  ];

  it('aggregates count and sum per user and epoch-aligned window', () => {
    const w = aggregate(readings, MINUTE);
    expect(w.get(windowKey('a', t0))).toEqual({ count: 2, sum: 130 });
    expect(w.get(windowKey('a', t0 + MINUTE))).toEqual({ count: 1, sum: 80 });
    expect(w.get(windowKey('b', t0))).toEqual({ count: 1, sum: 90 });
  });

  it('passes when every closed window was emitted with the recomputed figures, repeats included', () => {
    const fromTopic = aggregate(readings, MINUTE);
    const check = checkWindows({
      emitted: [emitted('a', t0, 2, 130), emitted('b', t0, 1, 90), emitted('b', t0, 1, 90)],
      fromTopic,
      fromAcknowledged: fromTopic,
      windowMs: MINUTE,
      closedBefore: t0 + MINUTE,
    });
    expect(check).toMatchObject({ compared: 2, missing: [], mismatched: [], unexpected: [], conflicting: [] });
    expect(check.repeated).toBe(1);
  });

  it('reports missing, wrong, extra and conflicting windows; open windows are left alone', () => {
    const fromTopic = aggregate(readings, MINUTE);
    const check = checkWindows({
      emitted: [
        emitted('a', t0, 2, 131),
        emitted('c', t0, 1, 1),
        emitted('a', t0 + MINUTE, 1, 80),
        emitted('a', t0 + MINUTE, 2, 160),
      ],
      fromTopic,
      fromAcknowledged: fromTopic,
      windowMs: MINUTE,
      closedBefore: t0 + MINUTE,
    });
    expect(check.compared).toBe(2);
    expect(check.missing).toEqual([windowKey('b', t0)]);
    expect(check.mismatched.map((m) => m.key)).toEqual([windowKey('a', t0)]);
    expect(check.unexpected).toEqual([windowKey('c', t0)]);
    // The conflicting repeat is of a window still open at `closedBefore`: reported all the same.
    expect(check.conflicting).toEqual([windowKey('a', t0 + MINUTE)]);
  });

  it('counts windows that differ from the acknowledged readings only by copies on the topic', () => {
    const copy = readings[0]!;
    const fromTopic = aggregate([...readings, copy], MINUTE);
    const check = checkWindows({
      emitted: [emitted('a', t0, 3, 190), emitted('b', t0, 1, 90)],
      fromTopic,
      fromAcknowledged: aggregate(readings, MINUTE),
      windowMs: MINUTE,
      closedBefore: t0 + MINUTE,
    });
    expect(check.mismatched).toEqual([]);
    expect(check.withTopicCopies).toBe(1);
  });
});
