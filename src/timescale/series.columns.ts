/**
 * A series as parallel arrays, index i being bucket i, oldest first: what `seriesColumns` answers.
 * A chart library wants the columns anyway, and 1,440 points then cost seven lists instead of
 * 1,440 objects of seven fields, both in the gateway (completion, JSON) and on the wire. Pure.
 *
 * Fill and downsampling stay on points (series.fill.ts, series.downsample.ts, one implementation):
 * a series that needs neither goes from the database's rows to columns without a point object
 * (`columnsOfRows`); one that does is shaped as points first and turned into columns after.
 */
import type { SeriesPoint } from './series.point.js';

export interface SeriesColumns {
  /** Start of each bucket. */
  times: Date[];
  count: number[];
  avg: number[];
  min: number[];
  max: number[];
  sum: number[];
  filled: boolean[];
}

/**
 * A series row as pg hands it in `rowMode: 'array'`: the columns of series.sql.ts in their order,
 * bucket, count, avg, min, max, sum.
 */
export type SeriesRowArray = [bucket: Date, count: number, avg: number, min: number, max: number, sum: number];

const emptyColumns = (): SeriesColumns => ({ times: [], count: [], avg: [], min: [], max: [], sum: [], filled: [] });

/** The columns of points in their order. */
export function columnsOfPoints(points: readonly SeriesPoint[]): SeriesColumns {
  const c = emptyColumns();
  for (const p of points) {
    c.times.push(p.time);
    c.count.push(p.count);
    c.avg.push(p.avg);
    c.min.push(p.min);
    c.max.push(p.max);
    c.sum.push(p.sum);
    c.filled.push(p.filled);
  }
  return c;
}

/** The columns of database rows, none of them filled: what `columnsOfPoints` gives for their points. */
export function columnsOfRows(rows: readonly SeriesRowArray[]): SeriesColumns {
  const c = emptyColumns();
  for (const r of rows) {
    c.times.push(r[0]);
    c.count.push(r[1]);
    c.avg.push(r[2]);
    c.min.push(r[3]);
    c.max.push(r[4]);
    c.sum.push(r[5]);
    c.filled.push(false);
  }
  return c;
}
