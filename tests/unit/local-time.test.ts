/**
 * Local bucket grids against hand-computed instants: Europe/Berlin's 23- and 25-hour days and
 * hours around the 2026 DST changes, Asia/Kolkata's half-hour offset, a skipped midnight
 * (America/Santiago), the wall-clock grids of downsampling, and time zone names.
 */
import { describe, expect, it } from 'vitest';
import {
  canonicalTimeZone,
  gridCount,
  gridStart,
  gridStarts,
  localGridPieces,
  offsetChanges,
  wallToInstant,
  zoneOffsetMs,
  type BucketGrid,
} from '../../src/domain/local-time.js';
import { checkTimeZone } from '../../src/timescale/series.range.js';

const H = 3_600_000;
const ms = (iso: string) => Date.parse(iso);
const isos = (list: number[]) => list.map((t) => new Date(t).toISOString());
const berlinDay: BucketGrid = { kind: 'local', unit: 'day', zone: 'Europe/Berlin' };
const berlinHour: BucketGrid = { kind: 'local', unit: 'hour', zone: 'Europe/Berlin' };

describe('zone offsets', () => {
  it('reads offsets, including half hours and history before 1970', () => {
    expect(zoneOffsetMs('Europe/Berlin', ms('2026-03-29T00:59:59Z'))).toBe(H);
    expect(zoneOffsetMs('Europe/Berlin', ms('2026-03-29T01:00:00Z'))).toBe(2 * H);
    expect(zoneOffsetMs('Asia/Kolkata', ms('2026-01-01T00:00:00Z'))).toBe(5.5 * H);
    expect(zoneOffsetMs('UTC', ms('1960-01-01T00:00:00.500Z'))).toBe(0);
  });

  it('resolves wall-clock times as Postgres does: repeated -> later instant, skipped -> offset before', () => {
    expect(wallToInstant('Europe/Berlin', ms('2026-10-25T02:00:00Z'))).toBe(ms('2026-10-25T01:00:00Z'));
    expect(wallToInstant('Europe/Berlin', ms('2026-03-29T02:30:00Z'))).toBe(ms('2026-03-29T01:30:00Z'));
    expect(wallToInstant('America/Santiago', ms('2022-09-11T00:00:00Z'))).toBe(ms('2022-09-11T04:00:00Z'));
    expect(wallToInstant('Europe/Berlin', ms('2026-07-01T00:00:00Z'))).toBe(ms('2026-06-30T22:00:00Z'));
  });
});

describe('local days and hours', () => {
  it('has a 23-hour spring day and a 25-hour autumn day in Berlin', () => {
    const spring = gridStarts(berlinDay, ms('2026-03-28T12:00Z'), ms('2026-03-30T12:00Z'));
    expect(isos(spring)).toEqual(['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z']);
    expect(spring[2]! - spring[1]!).toBe(23 * H);
    const autumn = gridStarts(berlinDay, ms('2026-10-24T12:00Z'), ms('2026-10-26T12:00Z'));
    expect(isos(autumn)).toEqual(['2026-10-23T22:00:00.000Z', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    expect(autumn[2]! - autumn[1]!).toBe(25 * H);
  });

  it('counts 23 and 25 local hours in those days, the repeated hour twice', () => {
    const spring = gridStarts(berlinHour, ms('2026-03-28T23:00Z'), ms('2026-03-29T22:00Z'));
    expect(spring).toHaveLength(23);
    expect(gridCount(berlinHour, ms('2026-03-28T23:00Z'), ms('2026-03-29T22:00Z'))).toBe(23);
    const autumn = gridStarts(berlinHour, ms('2026-10-24T22:00Z'), ms('2026-10-25T23:00Z'));
    expect(autumn).toHaveLength(25);
    expect(gridCount(berlinHour, ms('2026-10-24T22:00Z'), ms('2026-10-25T23:00Z'))).toBe(25);
    // 02:00 CEST and 02:00 CET are two buckets, an hour apart.
    expect(isos(autumn.slice(2, 4))).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z']);
  });

  it('labels each instant with the start of its local bucket', () => {
    expect(gridStart(berlinHour, ms('2026-10-25T00:30Z'))).toBe(ms('2026-10-25T00:00Z'));
    expect(gridStart(berlinHour, ms('2026-10-25T01:30Z'))).toBe(ms('2026-10-25T01:00Z'));
    expect(gridStart(berlinDay, ms('2026-10-25T23:30Z'))).toBe(ms('2026-10-25T23:00Z'));
    expect(gridStart(berlinDay, ms('2026-10-25T22:59:59.999Z'))).toBe(ms('2026-10-24T22:00Z'));
  });

  it('starts Kolkata hours at half past the UTC hour', () => {
    const kolkata: BucketGrid = { kind: 'local', unit: 'hour', zone: 'Asia/Kolkata' };
    expect(gridStart(kolkata, ms('2026-01-01T05:10Z'))).toBe(ms('2026-01-01T04:30Z'));
    expect(isos(gridStarts(kolkata, ms('2026-01-01T00:00Z'), ms('2026-01-01T02:00Z')))).toEqual([
      '2025-12-31T23:30:00.000Z',
      '2026-01-01T00:30:00.000Z',
      '2026-01-01T01:30:00.000Z',
    ]);
    expect(gridCount(kolkata, ms('2026-01-01T00:00Z'), ms('2026-01-01T02:00Z'))).toBe(3);
    const day: BucketGrid = { kind: 'local', unit: 'day', zone: 'Asia/Kolkata' };
    expect(gridStart(day, ms('2026-01-01T20:00Z'))).toBe(ms('2026-01-01T18:30Z'));
  });

  it('starts a day whose midnight is skipped at its first instant, and the next at midnight', () => {
    const santiago: BucketGrid = { kind: 'local', unit: 'day', zone: 'America/Santiago' };
    expect(isos(gridStarts(santiago, ms('2026-09-05T12:00Z'), ms('2026-09-07T12:00Z')))).toEqual([
      '2026-09-05T04:00:00.000Z',
      '2026-09-06T04:00:00.000Z',
      '2026-09-07T03:00:00.000Z',
    ]);
  });

  it('counts a leap year of local hours and days without walking it', () => {
    const year: [number, number] = [ms('2027-12-31T23:00Z'), ms('2028-12-31T23:00Z')];
    expect(gridCount(berlinDay, ...year)).toBe(366);
    expect(gridCount(berlinHour, ...year)).toBe(366 * 24);
    expect(gridStarts(berlinHour, ...year)).toHaveLength(366 * 24);
  });
});

describe('local grids as pieces of moved epoch grids (what the SQL groups by)', () => {
  /** The label the pieces give an instant, as the CASE expression of series.sql.ts does. */
  const labelOf = (pieces: ReturnType<typeof localGridPieces>, width: number, t: number): number => {
    const p = pieces.find((x) => t < x.untilMs)!;
    return 'labelMs' in p ? p.labelMs : Math.floor((t - p.originMs) / width) * width + p.originMs;
  };

  it('finds the offset changes of a year to the second', () => {
    expect(offsetChanges('Europe/Berlin', ms('2026-01-01T00:00Z'), ms('2027-01-01T00:00Z'))).toEqual([
      { atMs: ms('2026-03-29T01:00:00Z'), offsetMs: 2 * H },
      { atMs: ms('2026-10-25T01:00:00Z'), offsetMs: H },
    ]);
    expect(offsetChanges('Asia/Kolkata', ms('2026-01-01T00:00Z'), ms('2027-01-01T00:00Z'))).toEqual([]);
  });

  it('labels instants as gridStart does, across DST changes and skipped midnights', () => {
    for (const [grid, from, to] of [
      [berlinDay, '2026-03-01T05:17Z', '2026-11-30T00:00Z'],
      [berlinHour, '2026-10-24T00:00Z', '2026-10-26T00:00Z'],
      [{ kind: 'local', unit: 'day', zone: 'America/Santiago' }, '2026-09-01T00:00Z', '2026-09-12T00:00Z'],
      [{ kind: 'local', unit: 'hour', zone: 'Asia/Kolkata' }, '2026-01-01T00:10Z', '2026-01-03T00:00Z'],
    ] as [BucketGrid & { kind: 'local' }, string, string][]) {
      const pieces = localGridPieces(grid, ms(from), ms(to));
      const width = grid.unit === 'hour' ? H : 24 * H;
      // Every 7 minutes: off the hour most of the time, on it every 7 hours.
      for (let t = ms(from); t < ms(to); t += 7 * 60_000) {
        if (labelOf(pieces, width, t) !== gridStart(grid, t))
          throw new Error(`${grid.zone} ${new Date(t).toISOString()}`);
      }
    }
  });

  it('keeps one piece for local hours across whole-hour changes', () => {
    expect(localGridPieces(berlinHour, ms('2026-01-01T00:00Z'), ms('2027-01-01T00:00Z'))).toHaveLength(1);
    expect(localGridPieces(berlinDay, ms('2026-01-01T00:00Z'), ms('2027-01-01T00:00Z'))).toHaveLength(5);
  });
});

describe('wall-clock multiples (downsampling)', () => {
  it('groups k local hours on the wall clock from 1970-01-01 local', () => {
    const grid: BucketGrid = { kind: 'wall', widthMs: 6 * H, zone: 'Europe/Berlin' };
    expect(isos(gridStarts(grid, ms('2026-07-01T00:00Z'), ms('2026-07-01T12:00Z')))).toEqual([
      '2026-06-30T22:00:00.000Z',
      '2026-07-01T04:00:00.000Z',
      '2026-07-01T10:00:00.000Z',
    ]);
    expect(gridCount(grid, ms('2026-07-01T00:00Z'), ms('2026-07-01T12:00Z'))).toBe(3);
  });
});

describe('time zone names', () => {
  it('accepts IANA names in any case and returns their canonical spelling', () => {
    expect(checkTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(checkTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(checkTimeZone('Asia/Kolkata')).toMatch(/^Asia\/(Kolkata|Calcutta)$/);
    expect(checkTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Etc/GMT+5')).toBe('Etc/GMT+5');
  });

  it('refuses unknown names, offsets, POSIX rules and anything that is not a name with INVALID_TIME_ZONE', () => {
    for (const bad of [
      'Nope/Zone',
      'Mars/Olympus',
      '+05:30',
      'EST5EDT,M3.2.0,M11.1.0',
      '',
      ' UTC',
      "UTC'--",
      'a'.repeat(70),
      42,
      null,
    ]) {
      expect(() => checkTimeZone(bad), String(bad)).toThrow(expect.objectContaining({ code: 'INVALID_TIME_ZONE' }));
    }
  });
});
