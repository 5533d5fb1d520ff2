/**
 * A faster text parser for `timestamptz` columns. pg's default (postgres-date) runs three regular
 * expressions per value; a day of MINUTE buckets is 1,440 of them per request. The common shape,
 * `YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM[:SS]]` with a year from 0100 on, is read digit by digit into
 * exactly the Date postgres-date makes; anything else (BC, infinity, a year below 100, another
 * DateStyle) goes to the default parser. The start of the day is kept from one value to the next
 * (a series' buckets share a few days), so most values cost no Date.UTC.
 */
import pg from 'pg';

export const TIMESTAMPTZ_OID = 1184;

const fallback = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date | number | null;

/** Digits of text[from, to) as a number, or -1 when one of them is not a digit. */
function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i += 1) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

let lastDayKey = -1;
let lastDayMs = 0;

/** Date.UTC(year, month - 1, day), remembered for the day of the previous value. */
function dayStartMs(year: number, month: number, day: number): number {
  const key = year * 10_000 + month * 100 + day;
  if (key !== lastDayKey) {
    lastDayMs = Date.UTC(year, month - 1, day);
    lastDayKey = key;
  }
  return lastDayMs;
}

export function parseTimestamptz(text: string): Date | number | null {
  const len = text.length;
  if (
    len < 22 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 32 || // space
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58
  ) {
    return fallback(text);
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return fallback(text);
  let i = 19;
  let ms = 0;
  if (text.charCodeAt(i) === 46) {
    // The same arithmetic as postgres-date (Date.UTC then drops what is below a millisecond).
    let end = i + 1;
    while (end < len && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end += 1;
    if (end === i + 1) return fallback(text);
    ms = 1000 * parseFloat(text.slice(i, end));
    i = end;
  }
  const sign = text.charCodeAt(i);
  if ((sign !== 43 && sign !== 45) || i + 3 > len) return fallback(text);
  let offset = digits(text, i + 1, i + 3) * 3600;
  if (offset < 0) return fallback(text);
  i += 3;
  for (const scale of [60, 1]) {
    if (i === len) break;
    const part = text.charCodeAt(i) === 58 && i + 3 <= len ? digits(text, i + 1, i + 3) : -1;
    if (part < 0) return fallback(text);
    offset += part * scale;
    i += 3;
  }
  if (i !== len) return fallback(text);
  // What Date.UTC(year, month - 1, day, hour, minute, second, ms) gives: MakeTime truncates ms.
  const utc = dayStartMs(year, month, day) + hour * 3_600_000 + minute * 60_000 + second * 1000 + Math.trunc(ms);
  return new Date(offset === 0 ? utc : utc - (sign === 45 ? -offset : offset) * 1000);
}

/** pg's type parsers with `parseTimestamptz` for timestamptz text values. */
export const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID && format !== 'binary'
      ? parseTimestamptz
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};
