/**
 * Cursors and resumed subscriptions, in the hub alone: what a resumed subscriber receives (the
 * replay, then live events, no gap and no repeat at the seam), when a cursor is refused, and what a
 * cursor holds. The same paths against real Kafka are in tests/integration/live-resume.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createCursorCodec } from '../../src/live/cursor.js';
import { LiveHub, type AlertEntry, type WindowEntry } from '../../src/live/hub.js';
import type { LiveAlert, LiveWindow } from '../../src/domain/events.js';
import { ReplayLog } from '../../src/live/replay-log.js';
import type { Subscriber } from '../../src/live/subscriber.js';
import { AppError } from '../../src/errors.js';

const topics = { window: 'processed', alert: 'alerts' };
const codec = createCursorCodec('k'.repeat(32), topics);

const win = (userId: string, minute: number, value = 70): LiveWindow => ({
  userId,
  metric: 'heart_rate',
  windowStart: new Date(minute * 60_000),
  windowEnd: new Date((minute + 1) * 60_000),
  count: 1,
  avg: value,
  min: value,
  max: value,
  sum: value,
});

const alert = (userId: string, n: number): LiveAlert => ({
  alertId: `a-${userId}-${n}`,
  userId,
  kind: 'low_spo2',
  time: new Date(n * 60_000),
  message: 'low',
  details: null,
});

/** A `next()` left waiting by the last drain: the event that resolves it belongs to the next drain. */
const pending = new WeakMap<object, Promise<IteratorResult<{ event: unknown }>>>();

/** Everything a subscriber has ready now (without waiting for more). */
async function drain<T>(sub: Subscriber<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const next = (pending.get(sub) as Promise<IteratorResult<{ event: T }>> | undefined) ?? sub.next();
    pending.set(sub, next);
    const step = await Promise.race([next, new Promise<'idle'>((r) => setTimeout(() => r('idle'), 5))]);
    if (step === 'idle') return out;
    pending.delete(sub);
    if (step.done) return out;
    out.push(step.value.event);
  }
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : 'not an AppError';
  }
  return undefined;
};

const minutes = (entries: WindowEntry[]) => entries.map((e) => e.event.windowStart.getTime() / 60_000);

describe('cursor codec', () => {
  const position = { kind: 'window' as const, userId: 'u1', offsets: new Map([[3, 41]]) };

  it('reads back what it wrote', () => {
    const cursor = codec.encode(position);
    expect(codec.decode(cursor, 'window')).toEqual(position);
    const all = {
      kind: 'alert' as const,
      userId: null,
      offsets: new Map([
        [0, 5],
        [1, -1],
        [2, 9],
      ]),
    };
    expect(codec.decode(codec.encode(all), 'alert')).toEqual(all);
  });

  it('refuses an edited cursor, one of another kind, topic or key, and garbage with INVALID_CURSOR', () => {
    const cursor = codec.encode(position);
    const [payload, mac] = cursor.split('.') as [string, string];
    const edited = Buffer.from(Buffer.from(payload, 'base64url').toString('utf8').replace('41', '42')).toString(
      'base64url',
    );
    expect(codeOf(() => codec.decode(`${edited}.${mac}`, 'window'))).toBe('INVALID_CURSOR');
    expect(codeOf(() => codec.decode(cursor, 'alert'))).toBe('INVALID_CURSOR');
    const otherTopic = createCursorCodec('k'.repeat(32), { window: 'other', alert: 'alerts' });
    expect(codeOf(() => otherTopic.decode(cursor, 'window'))).toBe('INVALID_CURSOR');
    const otherKey = createCursorCodec('x'.repeat(32), topics);
    expect(codeOf(() => otherKey.decode(cursor, 'window'))).toBe('INVALID_CURSOR');
    for (const junk of ['', '.', 'abc', 'a.b', 'x'.repeat(5000), `${payload}.`]) {
      expect(
        codeOf(() => codec.decode(junk, 'window')),
        junk.slice(0, 20),
      ).toBe('INVALID_CURSOR');
    }
  });
});

describe('replay log', () => {
  it('keeps the last N events of a partition and moves its coverage past what it evicts', () => {
    const log = new ReplayLog<number>(3);
    log.open(0, 10, 20);
    expect(log.covers(new Map([[0, 9]]), false)).toBe(true);
    expect(log.covers(new Map([[0, 8]]), false)).toBe(false);
    for (let offset = 10; offset < 15; offset += 1) log.append(0, offset, offset);
    // 10 and 11 were evicted: a cursor at 11 still has everything after it (12..14), one at 10 not.
    expect(log.covers(new Map([[0, 11]]), false)).toBe(true);
    expect(log.covers(new Map([[0, 10]]), false)).toBe(false);
    expect(log.after(new Map([[0, 11]]), false, () => true).map((e) => e.event)).toEqual([12, 13, 14]);
    expect(log.after(new Map([[0, 13]]), false, () => true).map((e) => e.event)).toEqual([14]);
    expect(log.size()).toBe(3);
  });

  it('merges partitions in the order the events arrived', () => {
    const log = new ReplayLog<string>(10);
    log.open(0, 0, 0);
    log.open(1, 0, 0);
    log.append(1, 0, 'a');
    log.append(0, 0, 'b');
    log.append(1, 1, 'c');
    expect(log.after(new Map(), true, () => true).map((e) => e.event)).toEqual(['a', 'b', 'c']);
    expect(log.after(new Map([[1, 0]]), true, () => true).map((e) => e.event)).toEqual(['b', 'c']);
  });
});

describe('resumed subscriptions on the hub', () => {
  const newHub = (replayPerPartition = 100) => {
    const hub = new LiveHub({ bufferSize: 8, dedupEntries: 100, replayPerPartition });
    hub.openPartition('window', 0, 0, 0);
    hub.openPartition('window', 1, 0, 0);
    hub.openPartition('alert', 0, 0, 0);
    hub.openPartition('alert', 1, 0, 0);
    return hub;
  };
  const at = (offset: number) => ({ kind: 'window' as const, userId: 'u1', offsets: new Map([[0, offset]]) });

  it('replays what followed the cursor, then goes on live, with nothing lost or repeated at the seam', async () => {
    const hub = newHub();
    for (let m = 0; m < 5; m += 1) hub.publishWindow(win('u1', m), 0, m);
    hub.publishWindow(win('u2', 0), 0, 5); // another user on the same partition
    const sub = hub.subscribeWindows('u1', null, at(1));
    hub.publishWindow(win('u1', 5), 0, 6);
    expect(minutes(await drain(sub))).toEqual([2, 3, 4, 5]);
    hub.publishWindow(win('u1', 6), 0, 7);
    expect(minutes(await drain(sub))).toEqual([6]);
    expect(hub.stats()).toMatchObject({ resumed: 1, replayed: 3 });
  });

  it('replays more than a subscriber buffer holds without dropping', async () => {
    const hub = newHub();
    for (let m = 0; m < 50; m += 1) hub.publishWindow(win('u1', m), 0, m);
    const sub = hub.subscribeWindows('u1', null, at(-1));
    const got = await drain(sub);
    expect(got).toHaveLength(50);
    expect(hub.stats().dropped).toBe(0);
  });

  it('keeps the history read at start-up from subscriptions without a cursor', async () => {
    const hub = new LiveHub({ bufferSize: 8, dedupEntries: 100, replayPerPartition: 100 });
    hub.openPartition('window', 0, 0, 3); // offsets 0..2 were on the topic before the gateway started
    const fresh = hub.subscribeWindows('u1');
    const resumed = hub.subscribeWindows('u1', null, at(0));
    for (let m = 0; m < 4; m += 1) hub.publishWindow(win('u1', m), 0, m);
    expect(minutes(await drain(fresh))).toEqual([3]);
    expect(minutes(await drain(resumed))).toEqual([1, 2, 3]);
  });

  it('starts a subscription with the last N windows held (replayLast), then live ones once', async () => {
    const hub = newHub();
    for (let m = 0; m < 5; m += 1) hub.publishWindow(win('u1', m), m % 2, m);
    hub.publishWindow(win('u2', 9), 0, 10);
    const sub = hub.subscribeWindowsWithLast('u1', null, 3);
    hub.publishWindow(win('u1', 5), 1, 11);
    expect(minutes(await drain(sub))).toEqual([2, 3, 4, 5]);
    expect(minutes(await drain(hub.subscribeWindowsWithLast('u1', null, 0)))).toEqual([]);
  });

  it('answers CURSOR_EXPIRED once the log no longer reaches back to the cursor', () => {
    const hub = newHub(2);
    for (let m = 0; m < 5; m += 1) hub.publishWindow(win('u1', m), 0, m);
    expect(codeOf(() => hub.subscribeWindows('u1', null, at(1)))).toBe('CURSOR_EXPIRED');
    expect(codeOf(() => hub.subscribeWindows('u1', null, at(2)))).toBeUndefined();
  });

  it('does not replay a repeat of the job twice', async () => {
    const hub = newHub();
    hub.publishWindow(win('u1', 0), 0, 0);
    hub.publishWindow(win('u1', 1), 0, 1);
    hub.publishWindow(win('u1', 1), 0, 2); // the job's at-least-once repeat
    const sub = hub.subscribeWindows('u1', null, at(-1));
    expect(minutes(await drain(sub))).toEqual([0, 1]);
  });

  it("resumes everyone's alerts across partitions from the positions its cursor names", async () => {
    const hub = newHub();
    const live = hub.subscribeAlerts(null);
    hub.publishAlert(alert('u1', 1), 0, 0);
    hub.publishAlert(alert('u2', 2), 1, 0);
    const [, second] = (await drain(live)) as AlertEntry[];
    // The second alert's positions: partition 0 read to 0, partition 1 to 0.
    expect([...second!.positions!]).toEqual([
      [0, 0],
      [1, 0],
    ]);
    hub.publishAlert(alert('u1', 3), 0, 1);
    hub.publishAlert(alert('u2', 4), 1, 1);
    const resumed = hub.subscribeAlerts(null, { kind: 'alert', userId: null, offsets: second!.positions! });
    expect(((await drain(resumed)) as AlertEntry[]).map((e) => e.event.alertId)).toEqual(['a-u1-3', 'a-u2-4']);
  });
});
