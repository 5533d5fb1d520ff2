/**
 * The worker's batch write against real Postgres: new readings are COPYed, a batch holding an
 * identity already stored falls back to INSERT ... ON CONFLICT and counts the rest as duplicates,
 * the erasure ledger is honoured on the COPY path, writers racing on the same identities store
 * each once, and the per-minute rollup equals the aggregation of what was stored throughout.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReadings } from '../../src/consumer/readings.insert.js';
import type { ValidReading } from '../../src/domain/reading.js';
import { uniqueId } from '../helpers/wait.js';
import { countRows, deleteRows, rollupMismatches, storedRows, testPool } from './consumer-fixtures.js';

let pool: pg.Pool;
const users: string[] = [];
const user = (p: string) => {
  const u = uniqueId(p);
  users.push(u);
  return u;
};

const T0 = Date.UTC(2026, 0, 1);
const readingsOf = (userId: string, from: number, to: number, over: Partial<ValidReading> = {}): ValidReading[] =>
  Array.from({ length: to - from }, (_, k) => ({
    userId,
    metric: 'heart_rate',
    // 7 s apart: several readings per minute, minutes shared between batches.
    timeMs: T0 + (from + k) * 7_000,
    value: 50 + ((from + k) % 90) + 0.25,
    deviceId: 'dev\t1',
    eventId: `e\\${from + k}\n`,
    ...over,
  }));
const self = (r: ValidReading) => r;

/**
 * The worker's retry loop in short: writers racing on the same identities in different orders may
 * deadlock, and Postgres ends one of them (40P01), which the worker retries like any failure that
 * is not about the data.
 */
async function retried<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= 10 || !/^40/.test(String((err as { code?: unknown }).code))) throw err;
    }
  }
}

beforeAll(() => {
  pool = testPool();
});

afterAll(async () => {
  if (pool) {
    await pool.query('DELETE FROM erasures WHERE user_id = ANY($1)', [users]);
    await deleteRows(pool, users);
    await pool.end();
  }
});

describe('the batch write', () => {
  it('COPYs new readings exactly as given, text escapes and milliseconds included, and keeps the rollup exact', async () => {
    const u = user('copy-new');
    const batch = readingsOf(u, 0, 500, { deviceId: undefined });
    batch[3] = { ...batch[3]!, deviceId: 'a\\b\tc\nd\re "quoted", {braces}', eventId: undefined };
    batch[4] = { ...batch[4]!, timeMs: batch[4]!.timeMs + 123, value: -0.000001 };
    const done = await writeReadings(pool, batch, self);
    expect(done).toEqual({ inserted: 500, erased: 0, refused: [], path: 'copy' });
    const stored = await storedRows(pool, [u]);
    expect(stored).toHaveLength(500);
    expect(stored[3]).toMatchObject({ deviceId: 'a\\b\tc\nd\re "quoted", {braces}', eventId: null });
    expect(stored[4]).toMatchObject({ time: new Date(batch[4]!.timeMs).toISOString(), value: -0.000001 });
    expect(stored[5]).toMatchObject({ deviceId: null, eventId: 'e\\5\n', value: batch[5]!.value });
    expect(await rollupMismatches(pool, [u])).toEqual([]);
  });

  it('writes a replayed batch with ON CONFLICT: only the new identities are stored, the rest are duplicates', async () => {
    const u = user('copy-replay');
    expect((await writeReadings(pool, readingsOf(u, 0, 300), self)).path).toBe('copy');
    // Half stored already (the replay of a batch whose commit was lost), half new.
    const replay = await writeReadings(pool, readingsOf(u, 150, 450, { value: 1 }), self);
    expect(replay).toEqual({ inserted: 150, erased: 0, refused: [], path: 'insert' });
    expect(await countRows(pool, [u])).toBe(450);
    // The first value stored for an identity stays.
    const stored = await storedRows(pool, [u]);
    expect(stored[200]!.value).toBe(readingsOf(u, 200, 201)[0]!.value);
    expect(stored[400]!.value).toBe(1);
    expect(await rollupMismatches(pool, [u])).toEqual([]);
  });

  it('falls back cleanly when COPY is refused at its first row while megabytes of the batch are still on their way', async () => {
    const u = user('copy-replay-large');
    expect((await writeReadings(pool, readingsOf(u, 0, 1), self)).path).toBe('copy');
    // About 2.5 MB of COPY text: the server refuses the first line long before the last is written.
    const replay = await writeReadings(pool, readingsOf(u, 0, 20_000, { deviceId: 'd'.repeat(64) }), self);
    expect(replay).toEqual({ inserted: 19_999, erased: 0, refused: [], path: 'insert' });
    expect(await countRows(pool, [u])).toBe(20_000);
    // The connection went back to the pool usable: the next batch COPYs.
    expect((await writeReadings(pool, readingsOf(u, 20_000, 20_010), self)).path).toBe('copy');
    expect(await rollupMismatches(pool, [u])).toEqual([]);
  });

  it('leaves out readings of a user erased after their append time, and stores those appended later', async () => {
    const gone = user('copy-erased');
    const kept = user('copy-kept');
    const { rows } = await pool.query<{ at: Date }>(
      "INSERT INTO erasures (user_id, erased_at, requested_by) VALUES ($1, date_trunc('milliseconds', now()), 'test') RETURNING erased_at AS at",
      [gone],
    );
    const erasedMs = rows[0]!.at.getTime();
    const batch = [...readingsOf(gone, 0, 10), ...readingsOf(kept, 0, 10)];
    // Appended before the erasure, unknown (the reading's own time, in 2026-01, stands in: before
    // it), exactly at it (not later: stored), and after it.
    const appended = batch.map((r, i) =>
      r.userId === kept ? erasedMs - 1 : i < 4 ? erasedMs - 1000 : i < 6 ? null : i < 8 ? erasedMs : erasedMs + 1000,
    );
    const done = await writeReadings(
      pool,
      batch.map((r, i) => ({ r, a: appended[i]! })),
      (x) => x.r,
      (x) => x.a,
    );
    expect(done).toEqual({ inserted: 14, erased: 6, refused: [], path: 'copy' });
    expect(await countRows(pool, [gone])).toBe(4);
    expect(await countRows(pool, [kept])).toBe(10);
    expect(await rollupMismatches(pool, [gone, kept])).toEqual([]);
  });

  it('stores nothing and copies nothing when every reading of the batch was erased', async () => {
    const gone = user('copy-all-erased');
    await pool.query("INSERT INTO erasures (user_id, erased_at, requested_by) VALUES ($1, now(), 'test')", [gone]);
    const done = await writeReadings(pool, readingsOf(gone, 0, 5), self);
    expect(done).toEqual({ inserted: 0, erased: 5, refused: [], path: 'copy' });
    expect(await countRows(pool, [gone])).toBe(0);
  });

  it('isolates a row the database refuses through the fallback and stores the rest', async () => {
    const u = user('copy-refused');
    const batch = readingsOf(u, 0, 10);
    // Postgres text cannot hold U+0000 (the decoder refuses it first; this is the net behind it).
    batch[6] = { ...batch[6]!, deviceId: 'bad\u0000device' };
    const done = await writeReadings(pool, batch, self);
    expect(done.path).toBe('insert');
    expect(done.inserted).toBe(9);
    expect(done.refused.map((r) => r.item)).toEqual([batch[6]]);
    expect(await countRows(pool, [u])).toBe(9);
  });

  it('stores each identity once when writers race on the same batches, and the rollup stays exact', async () => {
    const u = user('copy-race');
    const batches = Array.from({ length: 6 }, (_, k) => readingsOf(u, k * 200, k * 200 + 400));
    const racers = [testPool(), testPool(), testPool()];
    try {
      const results = await Promise.all(
        racers.flatMap((p, w) =>
          batches.map((b, k) => retried(() => writeReadings(p, k % 2 === w % 2 ? b : [...b].reverse(), self))),
        ),
      );
      const inserted = results.reduce((n, r) => n + r.inserted, 0);
      expect(inserted).toBe(1400);
      expect(results.every((r) => r.refused.length === 0 && r.erased === 0)).toBe(true);
    } finally {
      await Promise.all(racers.map((p) => p.end()));
    }
    expect(await countRows(pool, [u])).toBe(1400);
    expect(await rollupMismatches(pool, [u])).toEqual([]);
  });
});
