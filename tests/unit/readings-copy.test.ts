/** The COPY path's text lines and its reading of the erasure ledger (src/timescale/readings.copy.ts). */
import { describe, expect, it } from 'vitest';
import { COPY_READINGS_SQL, copyChunks, copyText, keptByLedger } from '../../src/timescale/readings.copy.js';
import type { ValidReading } from '../../src/domain/reading.js';

const r = (over: Partial<ValidReading> = {}): ValidReading => ({
  userId: 'u1',
  metric: 'steps',
  timeMs: Date.UTC(2026, 0, 2, 3, 4, 5, 67),
  value: 12.5,
  deviceId: undefined,
  eventId: undefined,
  ...over,
});

describe('COPY text', () => {
  it('names the columns it writes, in their order, into readings itself', () => {
    expect(COPY_READINGS_SQL).toBe('COPY readings (user_id, metric, time, value, device_id, event_id) FROM STDIN');
  });

  it('escapes backslash, tab, newline and carriage return, and writes absent as \\N', () => {
    expect(copyText(undefined)).toBe('\\N');
    expect(copyText('')).toBe('');
    expect(copyText('\\N')).toBe('\\\\N');
    expect(copyText('a\tb\nc\rd\\e "f", {g}')).toBe('a\\tb\\nc\\rd\\\\e "f", {g}');
  });

  it('writes one line per reading, UTC time to the millisecond, number text for the value', () => {
    const lines = copyChunks([
      r({ deviceId: 'd\t1', eventId: 'e1' }),
      r({ userId: 'u2', metric: 'heart_rate', timeMs: 0, value: -0.000001 }),
    ]).join('');
    expect(lines).toBe(
      'u1\tsteps\t2026-01-02T03:04:05.067Z\t12.5\td\\t1\te1\n' +
        'u2\theart_rate\t1970-01-01T00:00:00.000Z\t-0.000001\t\\N\t\\N\n',
    );
  });

  it('leaves out the readings not kept, and splits long input into chunks of whole lines', () => {
    expect(copyChunks([r(), r({ userId: 'u2' }), r({ userId: 'u3' })], [true, false, true]).join('')).not.toMatch(
      /^u2/m,
    );
    const many = Array.from({ length: 5000 }, (_, i) => r({ timeMs: i }));
    const chunks = copyChunks(many);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.endsWith('\n')).toBe(true);
    expect(chunks.join('').split('\n')).toHaveLength(5001);
  });
});

describe('the erasure ledger on the COPY path', () => {
  const erasedUs = Date.UTC(2026, 5, 1) * 1000 + 500;
  const ledger = new Map([['gone', erasedUs]]);

  it('leaves out a reading whose user was erased after its append time, the reading time standing in when unknown', () => {
    const readings = [
      r({ userId: 'gone' }),
      r({ userId: 'gone' }),
      r({ userId: 'gone' }),
      r({ userId: 'gone', timeMs: Date.UTC(2026, 6, 1) }),
      r({ userId: 'other' }),
    ];
    const appended = [Date.UTC(2026, 5, 1), Date.UTC(2026, 5, 1) + 1, null, null, 0];
    // Erased at ...000.500 ms: a message appended at ...000 ms came before it, one at ...001 ms after.
    expect(keptByLedger(readings, appended, ledger)).toEqual({ keep: [false, true, false, true, true], erased: 2 });
  });

  it('keeps everything when the ledger names none of the users', () => {
    expect(keptByLedger([r(), r()], [], new Map())).toEqual({ keep: [true, true], erased: 0 });
  });
});
