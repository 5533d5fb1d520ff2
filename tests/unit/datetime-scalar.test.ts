/** The DateTime scalar's fast serialisation writes exactly what Date.prototype.toISOString writes. */
import { describe, expect, it } from 'vitest';
import { DateTimeScalar, isoString } from '../../src/resolvers/types/scalars.js';

describe('DateTime serialisation', () => {
  it('matches toISOString across days, years and the edges of the fast range', () => {
    const fixed = [
      0,
      1,
      999,
      59_999,
      86_399_999,
      86_400_000,
      Date.parse('2000-02-29T23:59:59.999Z'),
      Date.parse('2025-03-10T00:00:00.000Z'),
      Date.parse('2026-11-24T10:15:30.120Z'),
      253_402_300_799_999,
      253_402_300_800_000, // year 10000: +010000-...
      -1,
      -62_198_755_200_000, // year -0001
      8.64e15,
    ];
    let s = 42;
    const random = Array.from({ length: 20_000 }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return Math.floor((s / 2 ** 32) * 4e12) - 1e11; // about 1966 to 2096
    });
    for (const ms of [...fixed, ...random]) expect(isoString(ms)).toBe(new Date(ms).toISOString());
  });

  it('serialises Dates, strings and numbers, and refuses invalid instants as before', () => {
    const at = '2026-11-24T10:15:30.000Z';
    expect(DateTimeScalar.serialize(new Date(at))).toBe(at);
    expect(DateTimeScalar.serialize(at)).toBe(at);
    expect(DateTimeScalar.serialize(Date.parse(at))).toBe(at);
    expect(() => DateTimeScalar.serialize(new Date(Number.NaN))).toThrow(RangeError);
    expect(() => DateTimeScalar.serialize({})).toThrow(TypeError);
  });
});
