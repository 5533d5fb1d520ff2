/**
 * The aggregate result cache: TTL, single-flight, and per-caller cancellation that cancels the
 * shared load only when its last waiter leaves.
 */
import { describe, expect, it } from 'vitest';
import { createResultCache } from '../../src/trino/result-cache.js';
import { TrinoError } from '../../src/trino/trino.errors.js';
import { ErrorCode } from '../../src/errors.js';

/** A load the test resolves by hand, recording how often it ran and whether it was aborted. */
function manualLoad<T>() {
  const state = {
    calls: 0,
    aborted: false,
    resolve: (_: T) => undefined as void,
    reject: (_: unknown) => undefined as void,
  };
  const load = (signal: AbortSignal) => {
    state.calls += 1;
    signal.addEventListener('abort', () => {
      state.aborted = true;
      state.reject(new TrinoError(ErrorCode.TRINO_CANCELLED, 'cancelled'));
    });
    return new Promise<T>((resolve, reject) => {
      state.resolve = resolve;
      state.reject = reject;
    });
  };
  return { state, load };
}

describe('result cache', () => {
  it('serves an answer until its TTL has passed, then loads again', async () => {
    let now = 1_000;
    const cache = createResultCache({ ttlMs: 5_000, now: () => now });
    let calls = 0;
    const load = async () => ++calls;
    expect(await cache.get('k', load)).toBe(1);
    now += 4_999;
    expect(await cache.get('k', load)).toBe(1);
    now += 1;
    expect(await cache.get('k', load)).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, coalesced: 0 });
  });

  it('keeps nothing when the TTL is 0, but still shares a running load', async () => {
    const cache = createResultCache({ ttlMs: 0 });
    const { state, load } = manualLoad<string>();
    const a = cache.get('k', load);
    const b = cache.get('k', load);
    state.resolve('v');
    expect(await Promise.all([a, b])).toEqual(['v', 'v']);
    expect(state.calls).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 1, coalesced: 1, size: 0 });
  });

  it('does not cache failures', async () => {
    const cache = createResultCache({ ttlMs: 60_000 });
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('boom');
    };
    await expect(cache.get('k', failing)).rejects.toThrow('boom');
    await expect(cache.get('k', failing)).rejects.toThrow('boom');
    expect(calls).toBe(2);
  });

  it('keys answers apart', async () => {
    const cache = createResultCache({ ttlMs: 60_000 });
    expect(await cache.get('a', async () => 'A')).toBe('A');
    expect(await cache.get('b', async () => 'B')).toBe('B');
  });

  it('lets one caller leave without cancelling the load others wait for', async () => {
    const cache = createResultCache({ ttlMs: 60_000 });
    const { state, load } = manualLoad<string>();
    const leaving = new AbortController();
    const a = cache.get('k', load, leaving.signal);
    const b = cache.get('k', load, new AbortController().signal);
    leaving.abort();
    await expect(a).rejects.toMatchObject({ code: ErrorCode.TRINO_CANCELLED });
    expect(state.aborted).toBe(false);
    state.resolve('v');
    expect(await b).toBe('v');
  });

  it('cancels the load when its last waiter leaves, and starts afresh for the next caller', async () => {
    const cache = createResultCache({ ttlMs: 60_000 });
    const first = manualLoad<string>();
    const x = new AbortController();
    const y = new AbortController();
    const a = cache.get('k', first.load, x.signal);
    const b = cache.get('k', first.load, y.signal);
    x.abort();
    y.abort();
    await expect(a).rejects.toMatchObject({ code: ErrorCode.TRINO_CANCELLED });
    await expect(b).rejects.toMatchObject({ code: ErrorCode.TRINO_CANCELLED });
    expect(first.state.aborted).toBe(true);
    const second = manualLoad<string>();
    const c = cache.get('k', second.load);
    second.state.resolve('fresh');
    expect(await c).toBe('fresh');
    expect(second.state.calls).toBe(1);
  });

  it('refuses at once when the signal is already aborted', async () => {
    const cache = createResultCache({ ttlMs: 60_000 });
    const { state, load } = manualLoad<string>();
    await expect(cache.get('k', load, AbortSignal.abort())).rejects.toMatchObject({
      code: ErrorCode.TRINO_CANCELLED,
    });
    expect(state.calls).toBe(0);
  });

  it('keeps at most maxEntries answers, dropping the oldest', async () => {
    const cache = createResultCache({ ttlMs: 60_000, maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) await cache.get(k, async () => k);
    expect(cache.stats().size).toBe(2);
    let reloaded = false;
    await cache.get('a', async () => {
      reloaded = true;
      return 'a';
    });
    expect(reloaded).toBe(true);
  });

  it('clear drops every answer and says how many; a load running across it answers its caller but is neither stored nor joined', async () => {
    const cache = createResultCache({ ttlMs: 60_000 });
    await cache.get('a', async () => 'a');
    await cache.get('b', async () => 'b');
    const running = manualLoad<string>();
    const before = cache.get('c', running.load);

    expect(cache.clear()).toBe(2);
    expect(cache.stats().size).toBe(0);

    // A caller after the clear does not join the load that may have read erased data.
    const after = manualLoad<string>();
    const fresh = cache.get('c', after.load);
    running.state.resolve('stale');
    after.state.resolve('fresh');
    expect(await before).toBe('stale');
    expect(await fresh).toBe('fresh');
    expect(running.state.calls + after.state.calls).toBe(2);
    // Only the load launched after the clear was stored.
    expect(await cache.get('c', async () => 'loaded again')).toBe('fresh');
    expect(cache.clear()).toBe(1);
  });
});
