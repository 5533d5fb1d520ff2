/** Which part of a range the lake answers, and the federated statements' shape (no services). */
import { describe, expect, it } from 'vitest';
import { HOUR_MS, splitRange, type LakeView } from '../../src/trino/lake.plan.js';
import {
  cohortSplit,
  lakeCohortStatement,
  lakeLeaderboardStatement,
  zoneFitsHours,
} from '../../src/trino/lake.query.js';
import { lakeTables } from '../../src/trino/lake.sql.js';
import { executeSql } from '../../src/trino/prepared-statement.js';
import type { BucketName } from '../../src/domain/metrics.js';

const T0 = Date.UTC(2026, 0, 1);
const at = (hours: number): Date => new Date(T0 + hours * HOUR_MS);
const view = (lakeFrom: number, tieredUntil: number, dirty: number[] = []): LakeView => ({
  lakeFrom: at(lakeFrom),
  tieredUntil: at(tieredUntil),
  dirtyHours: dirty.map((h) => T0 + h * HOUR_MS),
});
const ms = (hours: number): number => T0 + hours * HOUR_MS;

describe('splitRange', () => {
  it('reads everything from the hot store while nothing is tiered', () => {
    expect(splitRange(at(0), at(5), HOUR_MS, { lakeFrom: null, tieredUntil: null, dirtyHours: [] })).toEqual({
      lake: [],
      hot: [[ms(0), ms(5)]],
    });
  });

  it('cuts the lake part to whole units inside the request and the tiered range', () => {
    const split = splitRange(new Date(ms(1) + 60_000), at(10), HOUR_MS, view(0, 8));
    expect(split.lake).toEqual([[ms(2), ms(8)]]);
    expect(split.hot).toEqual([
      [ms(1) + 60_000, ms(2)],
      [ms(8), ms(10)],
    ]);
  });

  it('sends dirty hours to the hot store, and the parts cover the request exactly once', () => {
    const split = splitRange(at(0), at(6), HOUR_MS, view(0, 6, [2, 3, 5]));
    expect(split.lake).toEqual([
      [ms(0), ms(2)],
      [ms(4), ms(5)],
    ]);
    expect(split.hot).toEqual([
      [ms(2), ms(4)],
      [ms(5), ms(6)],
    ]);
  });

  it('keeps the request outside the tiered range in the hot store', () => {
    expect(splitRange(at(-5), at(-1), HOUR_MS, view(0, 6)).lake).toEqual([]);
    const split = splitRange(at(-2), at(3), 60_000, view(0, 6));
    expect(split).toEqual({ lake: [[ms(0), ms(3)]], hot: [[ms(-2), ms(0)]] });
  });
});

describe('zoneFitsHours', () => {
  it('accepts zones with whole-hour offsets across DST and refuses half-hour ones', () => {
    expect(zoneFitsHours('Europe/Berlin', at(0), at(24 * 200))).toBe(true);
    expect(zoneFitsHours('Asia/Kolkata', at(0), at(24))).toBe(false);
    expect(zoneFitsHours('Australia/Lord_Howe', at(0), at(24 * 200))).toBe(false);
  });

  it('answers a local-day cohort in India from the hot store', () => {
    const request = {
      metric: 'heart_rate' as const,
      from: at(0),
      to: at(48),
      bucket: 'DAY' as BucketName,
      timeZone: 'Asia/Kolkata',
    };
    expect(cohortSplit(request, view(0, 48)).lake).toEqual([]);
  });
});

describe('federated statements', () => {
  const tables = lakeTables({ catalog: 'timescale', schema: 'public' }, { catalog: 'lake', schema: 'fitbit' });
  it.each<[BucketName, string]>([
    ['SECOND', 'UTC'],
    ['MINUTE', 'UTC'],
    ['FIVE_MINUTES', 'UTC'],
    ['HOUR', 'UTC'],
    ['DAY', 'Europe/Berlin'],
  ])('%s (%s) renders with one value per placeholder and reads both catalogs', (bucket, timeZone) => {
    const request = { metric: 'heart_rate' as const, from: at(0), to: at(30), bucket, timeZone };
    const statement = lakeCohortStatement(
      request,
      splitRange(request.from, request.to, HOUR_MS, view(0, 24, [3])),
      tables,
    );
    const sql = executeSql(statement);
    expect(statement.sql).toContain('timescale.public.readings');
    const lakeTable =
      bucket === 'SECOND' ? 'readings' : bucket === 'HOUR' || bucket === 'DAY' ? 'hour_rollups' : 'minute_rollups';
    expect(statement.sql).toContain(`lake.fitbit.${lakeTable}`);
    expect(sql).toMatch(/^EXECUTE fitbit_cohort_stats_lake USING /);
  });

  it('refuses identifiers that are not lower snake case', () => {
    expect(() =>
      lakeTables({ catalog: 'timescale', schema: 'public; DROP' }, { catalog: 'lake', schema: 'x' }),
    ).toThrow();
  });

  it('ranks from per-user hour rollups plus the hot rows', () => {
    const request = { metric: 'steps' as const, from: at(0), to: at(5), limit: 3 };
    const statement = lakeLeaderboardStatement(
      request,
      splitRange(request.from, request.to, HOUR_MS, view(0, 4)),
      tables,
    );
    expect(statement.sql).toContain('lake.fitbit.user_hour_rollups');
    expect(executeSql(statement)).toMatch(/USING 'steps', TIMESTAMP '2026-01-01 04:00:00.000 UTC'/);
  });
});
