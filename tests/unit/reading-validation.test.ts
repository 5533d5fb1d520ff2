import { describe, expect, it } from 'vitest';
import {
  checkReading,
  parseRfc3339,
  parseRfc3339Pattern,
  toWire,
  wireJson,
  type ValidReading,
} from '../../src/domain/reading.js';

const now = Date.parse('2026-11-24T10:00:00.000Z');
const good = { userId: 'user-42', metric: 'heart_rate', time: '2026-11-24T09:59:00.000Z', value: 72 };

describe('checkReading', () => {
  it('accepts a reading v1 and parses its time', () => {
    const r = checkReading({ ...good, deviceId: 'charge6-1', eventId: 'e1' }, now);
    expect(r).toEqual({
      ok: true,
      reading: {
        eventId: 'e1',
        userId: 'user-42',
        metric: 'heart_rate',
        timeMs: Date.parse(good.time),
        value: 72,
        deviceId: 'charge6-1',
      },
    });
  });

  it('accepts offsets other than Z', () => {
    const r = checkReading({ ...good, time: '2026-11-24T11:59:00+02:00' }, now);
    expect(r.ok && r.reading.timeMs).toBe(Date.parse('2026-11-24T09:59:00Z'));
  });

  it.each([
    [null, 'INVALID_FIELD'],
    [[good], 'INVALID_FIELD'],
    [{ ...good, userId: 42 }, 'INVALID_FIELD'],
    [{ ...good, userId: '' }, 'INVALID_USER_ID'],
    [{ ...good, userId: 'x'.repeat(65) }, 'INVALID_USER_ID'],
    [{ ...good, userId: "1'; DROP TABLE readings;--" }, 'INVALID_USER_ID'],
    [{ ...good, metric: 'HEART_RATE' }, 'INVALID_METRIC'],
    [{ ...good, metric: 'blood_sugar' }, 'INVALID_METRIC'],
    [{ ...good, time: '2026-11-24 09:59' }, 'INVALID_TIME'],
    [{ ...good, time: '2026-11-24T09:59:00' }, 'INVALID_TIME'],
    [{ ...good, time: 1795487575995 }, 'INVALID_FIELD'],
    [{ ...good, time: '2026-11-24T10:05:01.000Z' }, 'TIME_IN_FUTURE'],
    [{ ...good, value: '72' }, 'INVALID_FIELD'],
    [{ ...good, value: Number.NaN }, 'VALUE_NOT_FINITE'],
    [{ ...good, value: Number.POSITIVE_INFINITY }, 'VALUE_NOT_FINITE'],
    [{ ...good, value: 19.9 }, 'VALUE_OUT_OF_RANGE'],
    [{ ...good, value: 250.1 }, 'VALUE_OUT_OF_RANGE'],
    [{ ...good, metric: 'spo2', value: 101 }, 'VALUE_OUT_OF_RANGE'],
    [{ ...good, metric: 'skin_temperature_delta', value: -10.5 }, 'VALUE_OUT_OF_RANGE'],
    [{ ...good, eventId: 7 }, 'INVALID_FIELD'],
    [{ ...good, deviceId: 'd'.repeat(200) }, 'INVALID_FIELD'],
    [{ ...good, deviceId: 'a\u0000b' }, 'INVALID_FIELD'],
    [{ ...good, eventId: '\u0000' }, 'INVALID_FIELD'],
  ])('refuses %j with %s', (input, code) => {
    const r = checkReading(input, now);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.message.length).toBeGreaterThan(5);
    }
  });

  it('accepts the edges of every range and a time exactly 5 minutes ahead', () => {
    expect(checkReading({ ...good, value: 20 }, now).ok).toBe(true);
    expect(checkReading({ ...good, value: 250 }, now).ok).toBe(true);
    expect(checkReading({ ...good, metric: 'skin_temperature_delta', value: -10 }, now).ok).toBe(true);
    expect(checkReading({ ...good, time: '2026-11-24T10:05:00.000Z' }, now).ok).toBe(true);
  });
});

describe('wireJson', () => {
  it('writes JSON.stringify(toWire(...)) character for character', () => {
    const base: ValidReading = {
      userId: 'user-42.a:b@c_d',
      metric: 'skin_temperature_delta',
      timeMs: Date.UTC(2026, 10, 24, 9, 59, 0, 7),
      value: 72,
      deviceId: undefined,
      eventId: undefined,
    };
    const cases: [Partial<ValidReading>, string][] = [
      [{}, 'e1'],
      [{ value: -0 }, '0b8f7a2e-2b0f-4a4e-9c57-1a2b3c4d5e6f'],
      [{ value: -9.75 }, 'e"q\\u'],
      [{ value: 1e-7, timeMs: 0 }, 'e'],
      [{ value: 0.1 + 0.2 }, 'e\n\t\u2028\u0001'],
      [{ value: 2 ** 70, deviceId: 'dev "ice" \\ \u00e9 \ud83d\ude00' }, 'é'],
      [{ deviceId: '' }, 'x'],
    ];
    for (const [over, eventId] of cases) {
      const r = { ...base, ...over };
      expect(wireJson(r, eventId)).toBe(JSON.stringify(toWire(r, eventId)));
    }
  });
});

describe('parseRfc3339 on the canonical form', () => {
  it('reads YYYY-MM-DDTHH:MM:SS.mmmZ as the pattern does, valid or not, and leaves other shapes to it', () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const samples = [
      '2024-02-29T23:59:59.999Z',
      '2023-02-29T00:00:00.000Z',
      '2026-04-31T12:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-10T00:00:00.000Z',
      '2026-01-00T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01T23:60:00.000Z',
      '2026-01-01T23:59:60.000Z',
      '0099-12-31T23:59:59.999Z',
      '0100-03-01T00:00:00.000Z',
      '1900-02-29T00:00:00.000Z',
      '2000-02-29T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '2026-01-01t00:00:00.000Z',
      '2026-01-01 00:00:00.000Z',
      '2026-01-01T00:00:00.000z',
      '2026-01-01T00:00:00,000Z',
      '2026-01-01T00:00:0a.000Z',
      '+026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.0000',
      '2026-01-01T00:00:00.00Z',
    ];
    for (let i = 0; i < 5000; i += 1) {
      samples.push(
        `${pad(next(10_000), 4)}-${pad(next(14), 2)}-${pad(next(33), 2)}T${pad(next(26), 2)}:${pad(next(62), 2)}:${pad(next(62), 2)}.${pad(next(1000), 3)}Z`,
      );
    }
    for (const t of samples) expect(parseRfc3339(t), t).toStrictEqual(parseRfc3339Pattern(t));
  });
});
