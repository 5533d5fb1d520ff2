/**
 * The gateway's copy of the erasure ledger and the replay log's use of it: held events of a user
 * appended before the user's erasure are not replayed; what was appended after is.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createErasureLedgerCache, type ErasureLedger } from '../../src/live/erasure-ledger.js';
import { LiveHub, type WindowEntry } from '../../src/live/hub.js';
import type { LiveWindow } from '../../src/domain/events.js';
import type { Subscriber } from '../../src/live/subscriber.js';

const logger = createLogger(loadConfig({ LOG_LEVEL: 'silent' }), 'erasure-ledger-test');

const win = (userId: string, minute: number): LiveWindow => ({
  userId,
  metric: 'heart_rate',
  windowStart: new Date(minute * 60_000),
  windowEnd: new Date((minute + 1) * 60_000),
  count: 1,
  avg: 70,
  min: 70,
  max: 70,
  sum: 70,
});

/** Everything a subscriber has ready now. */
async function drain<T>(sub: Subscriber<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const step = await Promise.race([sub.next(), new Promise<'idle'>((r) => setTimeout(() => r('idle'), 5))]);
    if (step === 'idle' || step.done) return out;
    out.push(step.value.event);
  }
}

describe('erasure ledger copy', () => {
  it('answers from the loaded ledger and from erasures noted here, the latest winning', async () => {
    const rows = new Map([['u1', 1_000]]);
    const ledger = createErasureLedgerCache({ load: async () => rows, logger, refreshMs: 10 });
    await ledger.start();
    expect(ledger.erasedAfter('u1', 999)).toBe(true);
    expect(ledger.erasedAfter('u1', 1_000)).toBe(false);
    expect(ledger.erasedAfter('u2', 0)).toBe(false);
    ledger.note('u2', 5_000);
    ledger.note('u1', 3_000);
    // Refreshes that do not see the noted erasures yet (or see an older one) do not undo them.
    await new Promise((r) => setTimeout(r, 50));
    expect(ledger.erasedAfter('u2', 4_999)).toBe(true);
    expect(ledger.erasedAfter('u1', 2_000)).toBe(true);
    // One erased elsewhere shows at the next refresh.
    rows.set('u3', 7_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(ledger.erasedAfter('u3', 6_000)).toBe(true);
    await ledger.stop();
  });

  it('keeps its copy when the ledger cannot be read, and does not hold the start up for long', async () => {
    let fail = false;
    const ledger = createErasureLedgerCache({
      load: async () => {
        if (fail) throw new Error('database down');
        return new Map([['u1', 1_000]]);
      },
      logger,
      refreshMs: 10,
    });
    await ledger.start();
    fail = true;
    await new Promise((r) => setTimeout(r, 50));
    expect(ledger.erasedAfter('u1', 0)).toBe(true);
    await ledger.stop();

    const slow = createErasureLedgerCache({ load: () => new Promise(() => undefined), logger, startWaitMs: 20 });
    const started = Date.now();
    await slow.start();
    expect(Date.now() - started).toBeLessThan(1_000);
    await slow.stop();
  });
});

describe('replay log and erased users', () => {
  it('does not replay events of a user appended before the erasure; replays the others and later ones', async () => {
    const erasedAt = new Map<string, number>();
    const erasures: ErasureLedger = {
      erasedAfter: (userId, appendedMs) => (erasedAt.get(userId) ?? -Infinity) > appendedMs,
    };
    const hub = new LiveHub({ bufferSize: 8, dedupEntries: 100, replayPerPartition: 100, erasures });
    hub.openPartition('window', 0, 0, 0);
    hub.publishWindow(win('gone', 0), 0, 0, 100);
    hub.publishWindow(win('kept', 0), 0, 1, 110);
    hub.publishWindow(win('gone', 1), 0, 2, 120);
    erasedAt.set('gone', 150);
    hub.publishWindow(win('gone', 2), 0, 3, 200); // sent after the erasure

    const at = (userId: string) => ({ kind: 'window' as const, userId, offsets: new Map([[0, -1]]) });
    const minutes = (entries: WindowEntry[]) => entries.map((e) => e.event.windowStart.getTime() / 60_000);
    expect(minutes(await drain(hub.subscribeWindows('gone', null, at('gone'))))).toEqual([2]);
    expect(minutes(await drain(hub.subscribeWindows('kept', null, at('kept'))))).toEqual([0]);
  });
});
