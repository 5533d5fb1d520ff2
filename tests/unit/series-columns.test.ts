/** Series as columns: the columns of points and of database rows, index for index. */
import { describe, expect, it } from 'vitest';
import { columnsOfPoints, columnsOfRows, type SeriesRowArray } from '../../src/timescale/series.columns.js';
import { fillSeries } from '../../src/timescale/series.fill.js';
import type { SeriesPoint } from '../../src/timescale/series.point.js';

const MIN = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const row = (minute: number, count: number, avg: number, min: number, max: number, sum: number): SeriesRowArray => [
  new Date(T0 + minute * MIN),
  count,
  avg,
  min,
  max,
  sum,
];
const pointOf = (r: SeriesRowArray): SeriesPoint => ({
  time: r[0],
  count: r[1],
  avg: r[2],
  min: r[3],
  max: r[4],
  sum: r[5],
  filled: false,
});

describe('series columns', () => {
  const rows = [row(0, 2, 70.5, 70, 71, 141), row(1, 1, 80, 80, 80, 80), row(4, 3, 60, 55, 66, 180)];

  it('puts each row at the same index of every column, in order', () => {
    const c = columnsOfRows(rows);
    expect(c.times.map((t) => t.getTime())).toEqual([T0, T0 + MIN, T0 + 4 * MIN]);
    expect(c.count).toEqual([2, 1, 3]);
    expect(c.avg).toEqual([70.5, 80, 60]);
    expect(c.min).toEqual([70, 80, 55]);
    expect(c.max).toEqual([71, 80, 66]);
    expect(c.sum).toEqual([141, 80, 180]);
    expect(c.filled).toEqual([false, false, false]);
  });

  it('gives from rows what it gives from their points', () => {
    expect(columnsOfRows(rows)).toEqual(columnsOfPoints(rows.map(pointOf)));
  });

  it('carries filled buckets through with their flag', () => {
    const grid = Array.from({ length: 5 }, (_, i) => T0 + i * MIN);
    const points = fillSeries(rows.map(pointOf), grid, 'PREVIOUS');
    const c = columnsOfPoints(points);
    expect(c.times.map((t) => (t.getTime() - T0) / MIN)).toEqual([0, 1, 2, 3, 4]);
    expect(c.filled).toEqual([false, false, true, true, false]);
    expect(c.count).toEqual([2, 1, 0, 0, 3]);
    expect(c.avg).toEqual([70.5, 80, 80, 80, 60]);
    for (const [i, p] of points.entries()) {
      expect([c.times[i], c.count[i], c.avg[i], c.min[i], c.max[i], c.sum[i], c.filled[i]]).toEqual([
        p.time,
        p.count,
        p.avg,
        p.min,
        p.max,
        p.sum,
        p.filled,
      ]);
    }
  });

  it('answers empty columns for no buckets', () => {
    const empty = { times: [], count: [], avg: [], min: [], max: [], sum: [], filled: [] };
    expect(columnsOfRows([])).toEqual(empty);
    expect(columnsOfPoints([])).toEqual(empty);
  });
});
