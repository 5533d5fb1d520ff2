import { describe, expect, it } from 'vitest';
import { createOffsetLedger } from '../../src/consumer/offset.ledger.js';

describe('offset ledger', () => {
  it('offers nothing before a batch is stored', () => {
    const l = createOffsetLedger();
    l.track(0, '9');
    expect(l.committable()).toEqual([]);
    expect(l.pending()).toBe(1);
  });

  it('offers one past the last message of the stored prefix only', () => {
    const l = createOffsetLedger();
    const a = l.track(0, '9')!;
    const b = l.track(0, '19')!;
    const c = l.track(0, '29')!;
    // Stored out of order: the batch in the middle holds everything after it back.
    l.stored(a);
    l.stored(c);
    expect(l.committable()).toEqual([{ partition: 0, offset: '10' }]);
    l.committed([{ partition: 0, offset: '10' }]);
    expect(l.committable(), 'nothing new stored contiguously').toEqual([]);
    l.stored(b);
    expect(l.committable()).toEqual([{ partition: 0, offset: '30' }]);
    expect(l.pending()).toBe(0);
  });

  it('keeps partitions apart and offers each once until more is stored', () => {
    const l = createOffsetLedger();
    const p0 = l.track(0, '4')!;
    const p3 = l.track(3, '104')!;
    l.track(3, '200');
    l.stored(p3);
    l.stored(p0);
    const offers = l.committable();
    expect(offers).toEqual([
      { partition: 0, offset: '5' },
      { partition: 3, offset: '105' },
    ]);
    l.committed(offers);
    expect(l.committable()).toEqual([]);
  });

  it('offers again what a failed commit did not confirm', () => {
    const l = createOffsetLedger();
    l.stored(l.track(1, '7')!);
    expect(l.committable()).toEqual([{ partition: 1, offset: '8' }]);
    // No committed(): the commit failed.
    expect(l.committable()).toEqual([{ partition: 1, offset: '8' }]);
  });

  it('handles offsets beyond 2^53', () => {
    const l = createOffsetLedger();
    l.stored(l.track(0, '9007199254740993')!);
    expect(l.committable()).toEqual([{ partition: 0, offset: '9007199254740994' }]);
  });

  it('refuses a batch at or behind one tracked (a rewind) until the partition is forgotten', () => {
    const l = createOffsetLedger();
    const old = l.track(2, '50')!;
    expect(l.track(2, '50')).toBeUndefined();
    expect(l.track(2, '40')).toBeUndefined();
    l.forget(2);
    const again = l.track(2, '40')!;
    // The forgotten batch's write ending later commits nothing.
    l.stored(old);
    expect(l.committable()).toEqual([]);
    l.stored(again);
    expect(l.committable()).toEqual([{ partition: 2, offset: '41' }]);
  });

  it('refuses a batch behind the committed prefix', () => {
    const l = createOffsetLedger();
    l.stored(l.track(0, '10')!);
    l.committed(l.committable());
    expect(l.track(0, '10')).toBeUndefined();
    expect(l.track(0, '11')).toBeDefined();
  });

  it('after a reset (a new generation) forgets every batch: stores of the old one commit nothing', () => {
    const l = createOffsetLedger();
    const a = l.track(0, '9')!;
    const b = l.track(1, '9')!;
    l.reset();
    l.stored(a);
    l.stored(b);
    expect(l.committable()).toEqual([]);
    expect(l.pending()).toBe(0);
    // The new generation starts over from the committed offsets, behind what was tracked.
    const again = l.track(0, '4')!;
    l.stored(again);
    expect(l.committable()).toEqual([{ partition: 0, offset: '5' }]);
  });
});
