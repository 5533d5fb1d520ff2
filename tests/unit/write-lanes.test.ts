import { describe, expect, it } from 'vitest';
import { createWriteLanes } from '../../src/consumer/write.lanes.js';

interface Item {
  partition: number;
  n: number;
  generation: number;
}

/** A write that waits until the test releases it, recording order and overlap. */
function controlledWrites() {
  const started: Item[] = [];
  const finished: Item[] = [];
  const gates = new Map<Item, () => void>();
  let running = 0;
  let maxRunning = 0;
  const writes: Item[][] = [];
  // Keyed by the first item of each write: without `joins` every write holds one.
  const write = (items: Item[]): Promise<void> => {
    writes.push(items);
    const item = items[0]!;
    started.push(item);
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    return new Promise<void>((resolve) =>
      gates.set(item, () => {
        running -= 1;
        finished.push(item);
        resolve();
      }),
    );
  };
  const release = async (item: Item): Promise<void> => {
    for (let i = 0; i < 50 && !gates.has(item); i += 1) await new Promise((r) => setImmediate(r));
    const gate = gates.get(item);
    if (!gate) throw new Error(`item ${item.partition}/${item.n} never started`);
    gates.delete(item);
    gate();
    await new Promise((r) => setImmediate(r));
  };
  return { write, release, started, finished, writes, maxRunning: () => maxRunning };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('write lanes', () => {
  it('writes a partition in order, one at a time, partitions side by side up to the writers', async () => {
    const w = controlledWrites();
    const lanes = createWriteLanes<Item>({
      capacity: 2,
      writers: 2,
      write: w.write,
      current: () => true,
      onDefect: () => undefined,
    });
    const items = [0, 1, 2].flatMap((partition) => [0, 1].map((n) => ({ partition, n, generation: 1 })));
    for (const it of items) {
      expect(await lanes.waitForRoom(it.partition, 10)).toBe('room');
      lanes.push(it.partition, it);
    }
    await tick();
    // Two writers: partitions 0 and 1 start, partition 2 waits for a slot.
    expect(w.started.map((i) => `${i.partition}/${i.n}`)).toEqual(['0/0', '1/0']);
    await w.release(items[0]!);
    expect(w.started.map((i) => `${i.partition}/${i.n}`)).toEqual(['0/0', '1/0', '2/0']);
    // Slots go to the lanes in the order they asked: 0/1 waits behind 2/0.
    while (w.finished.length < items.length) {
      const next = w.started.find((i) => !w.finished.includes(i));
      if (!next) throw new Error('a lane stopped writing');
      await w.release(next);
    }
    await lanes.idle();
    expect(w.maxRunning()).toBe(2);
    for (const p of [0, 1, 2]) {
      expect(w.finished.filter((i) => i.partition === p).map((i) => i.n)).toEqual([0, 1]);
    }
  });

  it('applies back-pressure: full after `capacity` queued behind the write, room once one is taken', async () => {
    const w = controlledWrites();
    const lanes = createWriteLanes<Item>({
      capacity: 1,
      writers: 1,
      write: w.write,
      current: () => true,
      onDefect: () => undefined,
    });
    const a = { partition: 0, n: 0, generation: 1 };
    const b = { partition: 0, n: 1, generation: 1 };
    const c = { partition: 0, n: 2, generation: 1 };
    lanes.push(0, a);
    await tick();
    lanes.push(0, b);
    expect(await lanes.waitForRoom(0, 5), 'a being written, b queued').toBe('full');
    const waiting = lanes.waitForRoom(0, 10_000);
    await w.release(a);
    expect(await waiting).toBe('room');
    lanes.push(0, c);
    expect(lanes.size()).toBe(2);
    await w.release(b);
    await w.release(c);
    await lanes.idle();
    expect(lanes.size()).toBe(0);
  });

  it('drops queued items of an earlier generation; the one being written finishes first', async () => {
    const w = controlledWrites();
    let generation = 1;
    const lanes = createWriteLanes<Item>({
      capacity: 3,
      writers: 1,
      write: w.write,
      current: (i) => i.generation === generation,
      onDefect: () => undefined,
    });
    const old = [0, 1, 2].map((n) => ({ partition: 0, n, generation: 1 }));
    for (const it of old) lanes.push(0, it);
    await tick();
    generation = 2;
    const fresh = { partition: 0, n: 0, generation: 2 };
    lanes.push(0, fresh);
    await tick();
    expect(w.started, 'nothing new starts while the old write is under way').toEqual([old[0]]);
    await w.release(old[0]!);
    await w.release(fresh);
    await lanes.idle();
    expect(w.finished).toEqual([old[0], fresh]);
  });

  it('close drops what is queued, waits for the write under way, then refuses', async () => {
    const w = controlledWrites();
    const lanes = createWriteLanes<Item>({
      capacity: 2,
      writers: 1,
      write: w.write,
      current: () => true,
      onDefect: () => undefined,
    });
    const a = { partition: 0, n: 0, generation: 1 };
    const b = { partition: 0, n: 1, generation: 1 };
    lanes.push(0, a);
    lanes.push(0, b);
    await tick();
    let closed = false;
    const closing = lanes.close().then(() => (closed = true));
    await tick();
    expect(closed, 'waits for the write under way').toBe(false);
    await w.release(a);
    await closing;
    expect(w.finished).toEqual([a]);
    expect(await lanes.waitForRoom(0, 10)).toBe('closed');
    lanes.push(0, b);
    expect(lanes.size()).toBe(0);
  });

  it('wakes a handler waiting for room when the lanes close', async () => {
    const w = controlledWrites();
    const lanes = createWriteLanes<Item>({
      capacity: 1,
      writers: 1,
      write: w.write,
      current: () => true,
      onDefect: () => undefined,
    });
    const a = { partition: 0, n: 0, generation: 1 };
    lanes.push(0, a);
    await tick();
    lanes.push(0, { partition: 0, n: 1, generation: 1 });
    const waiting = lanes.waitForRoom(0, 10_000);
    const closing = lanes.close();
    expect(await waiting).toBe('closed');
    await w.release(a);
    await closing;
  });

  it('joins what queued behind a write into the next one, in order, while `joins` allows', async () => {
    const w = controlledWrites();
    let generation = 1;
    const lanes = createWriteLanes<Item>({
      capacity: 5,
      writers: 1,
      write: w.write,
      current: (i) => i.generation === generation,
      joins: (taken, next) => next.generation === taken[0]!.generation && taken.length < 3,
      onDefect: () => undefined,
    });
    const items = [0, 1, 2, 3, 4].map((n) => ({ partition: 0, n, generation: 1 }));
    lanes.push(0, items[0]!);
    await tick();
    for (const it of items.slice(1)) lanes.push(0, it);
    expect(w.writes.map((ws) => ws.map((i) => i.n))).toEqual([[0]]);
    await w.release(items[0]!);
    expect(w.writes.map((ws) => ws.map((i) => i.n))).toEqual([[0], [1, 2, 3]]);
    // A new generation: the queued item 4 is dropped, not joined; the next one writes alone.
    generation = 2;
    const fresh = { partition: 0, n: 5, generation: 2 };
    lanes.push(0, fresh);
    await w.release(items[1]!);
    await w.release(fresh);
    await lanes.idle();
    expect(w.writes.map((ws) => ws.map((i) => i.n))).toEqual([[0], [1, 2, 3], [5]]);
  });

  it('retries an item whose write threw (a defect) and reports it', async () => {
    const defects: unknown[] = [];
    let calls = 0;
    const lanes = createWriteLanes<Item>({
      capacity: 1,
      writers: 1,
      defectRetryMs: 1,
      write: async () => {
        calls += 1;
        if (calls < 3) throw new Error('bug');
      },
      current: () => true,
      onDefect: (err) => defects.push(err),
    });
    lanes.push(0, { partition: 0, n: 0, generation: 1 });
    await lanes.idle();
    expect(calls).toBe(3);
    expect(defects).toHaveLength(2);
  });

  it('refuses a capacity or writer count below 1', () => {
    const base = { write: async () => undefined, current: () => true, onDefect: () => undefined };
    expect(() => createWriteLanes({ ...base, capacity: 0, writers: 1 })).toThrow(/capacity/);
    expect(() => createWriteLanes({ ...base, capacity: 1, writers: 0 })).toThrow(/writers/);
  });
});
