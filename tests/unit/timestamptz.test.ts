/** The fast timestamptz parser gives exactly what pg's default parser (postgres-date) gives. */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { parseTimestamptz, pgTypes, TIMESTAMPTZ_OID } from '../../src/timescale/timestamptz.js';

const reference = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => unknown;
const same = (text: string) => {
  const want = reference(text);
  const got = parseTimestamptz(text);
  if (want instanceof Date) {
    expect(got, text).toBeInstanceOf(Date);
    expect((got as Date).getTime(), text).toBe(want.getTime());
  } else {
    expect(got, text).toEqual(want);
  }
};

describe('timestamptz text parser', () => {
  it('matches postgres-date on the shapes Postgres writes, and on the ones it falls back for', () => {
    for (const text of [
      '2025-03-10 00:00:00+00',
      '2025-03-10 00:01:00+00',
      '2026-11-24 10:15:30.12+00',
      '2026-11-24 10:15:30.123456+00',
      '2026-11-24 10:15:30.000001+00',
      '2026-11-24 10:15:30.999999+00',
      '2026-11-24 10:15:30+05:30',
      '2026-11-24 10:15:30.5-03',
      '2026-11-24 10:15:30-03:30:15',
      '1970-01-01 00:00:00+00',
      '1969-12-31 23:59:59.999+00',
      '0100-01-01 00:00:00+00',
      '0099-06-01 12:00:00+00',
      '0001-01-01 00:00:00+00 BC',
      '12345-01-01 00:00:00+00',
      'infinity',
      '-infinity',
      '2026-11-24 10:15:30',
      '2026-11-24',
      '2026-11-24 10:15:30.+00',
      '2026-11-24 10:15:30+0',
      '2026-11-24T10:15:30Z',
    ]) {
      same(text);
    }
    let s = 7;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    for (let k = 0; k < 5000; k += 1) {
      const d = new Date(Math.floor(rnd() * 4e12));
      const fraction = rnd() < 0.5 ? '' : `.${pad(Math.floor(rnd() * 1e6), 6)}`.replace(/0+$/, '').replace(/\.$/, '');
      const hours = Math.floor(rnd() * 15) * (rnd() < 0.5 ? -1 : 1);
      const minutes = rnd() < 0.3 ? `:${pad(Math.floor(rnd() * 4) * 15, 2)}` : '';
      const zone = `${hours < 0 ? '-' : '+'}${pad(Math.abs(hours), 2)}${minutes}`;
      const text = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}${fraction}${zone}`;
      same(text);
    }
  });

  it('stays exact over runs of values of one day, and when the day changes back and forth', () => {
    const pad = (n: number) => String(n).padStart(2, '0');
    for (const day of ['2025-03-10', '2025-03-11', '2025-03-10', '2024-02-29', '2025-03-10']) {
      for (let minute = 0; minute < 1440; minute += 7) {
        const time = `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}:${pad(minute % 60)}`;
        same(`${day} ${time}+00`);
        same(`${day} ${time}.25-05:30`);
      }
    }
  });

  it('is what the pool uses for timestamptz text, and nothing else', () => {
    expect(pgTypes.getTypeParser(TIMESTAMPTZ_OID, 'text')).toBe(parseTimestamptz);
    expect(pgTypes.getTypeParser(TIMESTAMPTZ_OID)).toBe(parseTimestamptz);
    expect(pgTypes.getTypeParser(1114, 'text')).toBe(pg.types.getTypeParser(1114, 'text'));
    expect(pgTypes.getTypeParser(701, 'text')).toBe(pg.types.getTypeParser(701, 'text'));
  });
});
