/**
 * SQL building for the Trino aggregates: bucket maths, the metric -> aggregate choice, and that
 * no caller-supplied text ever reaches a statement.
 */
import { describe, expect, it } from 'vitest';
import { BUCKETS, WIRE_METRICS, bucketStart, type BucketName } from '../../src/domain/metrics.js';
import {
  bucketCount,
  bucketIndex,
  validateCohortStatsRequest,
  validateLeaderboardRequest,
  type AggregateLimits,
} from '../../src/trino/aggregate.request.js';
import {
  COHORT_STATS_LOCAL_SQL,
  COHORT_STATS_SQL,
  bucketStartOf,
  bucketWidthSeconds,
  cohortStatsStatement,
  parseCohortStatsRows,
} from '../../src/trino/cohort.query.js';
import {
  LEADERBOARD_SQL,
  leaderboardAggregate,
  leaderboardStatement,
  parseLeaderboardRows,
} from '../../src/trino/leaderboard.query.js';
import {
  executeSql,
  preparedStatementHeader,
  renderLiteral,
  SqlRenderError,
} from '../../src/trino/prepared-statement.js';
import { TrinoError } from '../../src/trino/trino.errors.js';
import { ErrorCode } from '../../src/errors.js';

const limits: AggregateLimits = { maxRangeDays: 366, maxBuckets: 10_000, maxLeaderboardLimit: 1000 };
const BUCKET_NAMES = Object.keys(BUCKETS) as BucketName[];
const from = new Date('2026-11-24T10:00:00.000Z');
const to = new Date('2026-11-24T11:00:00.000Z');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof TrinoError ? err.code : `not a TrinoError: ${String(err)}`;
  }
  return undefined;
}

describe('bucket maths', () => {
  it('has the widths of the Bucket enum, in whole seconds', () => {
    expect(BUCKET_NAMES.map(bucketWidthSeconds)).toEqual([1, 60, 300, 900, 3600, 86400]);
  });

  it('aligns buckets to the Unix epoch in UTC, labelled by their start', () => {
    const t = Date.parse('2026-11-24T10:07:31.250Z');
    expect(bucketStartOf(bucketIndex(t, 'SECOND'), 'SECOND').toISOString()).toBe('2026-11-24T10:07:31.000Z');
    expect(bucketStartOf(bucketIndex(t, 'MINUTE'), 'MINUTE').toISOString()).toBe('2026-11-24T10:07:00.000Z');
    expect(bucketStartOf(bucketIndex(t, 'FIVE_MINUTES'), 'FIVE_MINUTES').toISOString()).toBe(
      '2026-11-24T10:05:00.000Z',
    );
    expect(bucketStartOf(bucketIndex(t, 'FIFTEEN_MINUTES'), 'FIFTEEN_MINUTES').toISOString()).toBe(
      '2026-11-24T10:00:00.000Z',
    );
    expect(bucketStartOf(bucketIndex(t, 'HOUR'), 'HOUR').toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(bucketStartOf(bucketIndex(t, 'DAY'), 'DAY').toISOString()).toBe('2026-11-24T00:00:00.000Z');
  });

  it('agrees with the domain bucketStart at and around bucket edges', () => {
    for (const b of BUCKET_NAMES) {
      const edge = 1_795_000_000_000 - (1_795_000_000_000 % BUCKETS[b]);
      for (const t of [edge - 1, edge, edge + 1, edge + BUCKETS[b] - 1]) {
        expect(bucketStartOf(bucketIndex(t, b), b).getTime()).toBe(bucketStart(t, b));
      }
    }
  });

  it('counts the buckets a half-open range touches', () => {
    expect(bucketCount(from, to, 'MINUTE')).toBe(60);
    expect(bucketCount(from, to, 'HOUR')).toBe(1);
    expect(bucketCount(new Date('2026-11-24T10:00:30Z'), new Date('2026-11-24T10:01:00.001Z'), 'MINUTE')).toBe(2);
    expect(bucketCount(from, new Date(from.getTime() + 1), 'DAY')).toBe(1);
  });

  it('refuses a range with more buckets than allowed', () => {
    const small = { ...limits, maxBuckets: 59 };
    expect(codeOf(() => validateCohortStatsRequest({ metric: 'heart_rate', from, to, bucket: 'MINUTE' }, small))).toBe(
      ErrorCode.TOO_MANY_POINTS,
    );
    expect(
      codeOf(() => validateCohortStatsRequest({ metric: 'heart_rate', from, to, bucket: 'FIVE_MINUTES' }, small)),
    ).toBeUndefined();
  });
});

describe('metric -> aggregate', () => {
  it('sums count-like metrics and averages the others', () => {
    const sums = WIRE_METRICS.filter((m) => leaderboardAggregate(m) === 'sum');
    expect(sums).toEqual(expect.arrayContaining(['steps', 'calories', 'distance', 'floors', 'active_zone_minutes']));
    for (const m of ['heart_rate', 'spo2', 'hrv_rmssd', 'breathing_rate', 'skin_temperature_delta'] as const) {
      expect(leaderboardAggregate(m)).toBe('avg');
    }
  });

  it('picks the statement text from a closed set of two', () => {
    const steps = leaderboardStatement({ metric: 'steps', from, to, limit: 5 });
    const hr = leaderboardStatement({ metric: 'heart_rate', from, to, limit: 5 });
    expect(steps.sql).toBe(LEADERBOARD_SQL.sum);
    expect(steps.sql).toContain('sum(r.value)');
    expect(hr.sql).toBe(LEADERBOARD_SQL.avg);
    expect(hr.sql).toContain('avg(r.value)');
    expect(steps.name).toBe('fitbit_leaderboard_sum');
    expect(hr.name).toBe('fitbit_leaderboard_avg');
  });
});

describe('statements', () => {
  it('renders EXECUTE with typed literals only', () => {
    const stmt = cohortStatsStatement({ metric: 'heart_rate', from, to, bucket: 'FIVE_MINUTES', timeZone: 'UTC' });
    expect(stmt.sql).toBe(COHORT_STATS_SQL);
    expect(executeSql(stmt)).toBe(
      "EXECUTE fitbit_cohort_stats USING 300, 'heart_rate', TIMESTAMP '2026-11-24 10:00:00.000 UTC', TIMESTAMP '2026-11-24 11:00:00.000 UTC'",
    );
    expect(executeSql(leaderboardStatement({ metric: 'steps', from, to, limit: 7 }))).toBe(
      "EXECUTE fitbit_leaderboard_sum USING 'steps', TIMESTAMP '2026-11-24 10:00:00.000 UTC', TIMESTAMP '2026-11-24 11:00:00.000 UTC', 7",
    );
  });

  it('sends the statement text url-encoded in the prepared-statement header', () => {
    const stmt = leaderboardStatement({ metric: 'steps', from, to, limit: 7 });
    const [name, encoded] = preparedStatementHeader(stmt).split('=');
    expect(name).toBe('fitbit_leaderboard_sum');
    expect(decodeURIComponent(encoded ?? '')).toBe(stmt.sql);
    expect(encoded).not.toMatch(/[\s,]/);
  });

  it('has one placeholder per value in every statement text', () => {
    for (const sql of [COHORT_STATS_SQL, LEADERBOARD_SQL.sum, LEADERBOARD_SQL.avg]) {
      expect(sql.match(/\?/g)).toHaveLength(4);
      expect(sql).not.toMatch(/'/);
    }
  });

  it('buckets HOUR and DAY in a zone other than UTC by local time, the zone a checked literal', () => {
    const stmt = cohortStatsStatement({ metric: 'heart_rate', from, to, bucket: 'DAY', timeZone: 'Europe/Berlin' });
    expect(stmt.sql).toBe(COHORT_STATS_LOCAL_SQL);
    expect(stmt.sql).toMatch(/date_trunc\(\?, at_timezone\(r\."time", \?\)\)/);
    expect(stmt.sql).not.toMatch(/'/);
    expect(executeSql(stmt)).toBe(
      "EXECUTE fitbit_cohort_stats_local USING 'day', 'Europe/Berlin', 'heart_rate', TIMESTAMP '2026-11-24 10:00:00.000 UTC', TIMESTAMP '2026-11-24 11:00:00.000 UTC'",
    );
    // Below an hour, and in UTC, the epoch grid as before.
    expect(
      cohortStatsStatement({ metric: 'heart_rate', from, to, bucket: 'MINUTE', timeZone: 'Asia/Kolkata' }).sql,
    ).toBe(COHORT_STATS_SQL);
    expect(cohortStatsStatement({ metric: 'heart_rate', from, to, bucket: 'DAY', timeZone: 'UTC' }).sql).toBe(
      COHORT_STATS_SQL,
    );
    expect(() => renderLiteral({ type: 'zone', value: "Europe/Berlin' --" })).toThrow(SqlRenderError);
  });

  it('validates the time zone like series does', () => {
    expect(
      validateCohortStatsRequest({ metric: 'heart_rate', from, to, bucket: 'DAY', timeZone: 'europe/berlin' }, limits)
        .timeZone,
    ).toBe('Europe/Berlin');
    for (const bad of ['Nope/Zone', '+05:30', "UTC'; DROP", '']) {
      expect(() =>
        validateCohortStatsRequest({ metric: 'heart_rate', from, to, bucket: 'DAY', timeZone: bad }, limits),
      ).toThrow(expect.objectContaining({ code: 'INVALID_TIME_ZONE' }));
    }
  });

  it('counts local buckets against the limit: a 25-hour day is 25 HOUR buckets', () => {
    const day = {
      metric: 'heart_rate',
      from: new Date('2026-10-24T22:00:00Z'),
      to: new Date('2026-10-25T23:00:00Z'),
      bucket: 'HOUR',
    };
    expect(() =>
      validateCohortStatsRequest({ ...day, timeZone: 'Europe/Berlin' }, { ...limits, maxBuckets: 25 }),
    ).not.toThrow();
    expect(() =>
      validateCohortStatsRequest({ ...day, timeZone: 'Europe/Berlin' }, { ...limits, maxBuckets: 24 }),
    ).toThrow(expect.objectContaining({ code: 'TOO_MANY_POINTS' }));
  });

  it('refuses a mismatch between placeholders and values', () => {
    const stmt = cohortStatsStatement({ metric: 'heart_rate', from, to, bucket: 'HOUR', timeZone: 'UTC' });
    expect(() => executeSql({ ...stmt, params: stmt.params.slice(1) })).toThrow(SqlRenderError);
  });
});

describe('no user text in SQL', () => {
  const hostile = [
    "heart_rate'; DROP TABLE readings; --",
    "heart_rate' OR '1'='1",
    'HEART_RATE',
    'heart_rate ',
    'readings',
    '',
  ];

  it('rejects any metric outside the catalogue before a statement exists', () => {
    for (const metric of hostile) {
      expect(codeOf(() => validateCohortStatsRequest({ metric, from, to, bucket: 'HOUR' }, limits))).toBe(
        ErrorCode.INVALID_METRIC,
      );
      expect(codeOf(() => validateLeaderboardRequest({ metric, from, to, limit: 3 }, limits))).toBe(
        ErrorCode.INVALID_METRIC,
      );
    }
    expect(codeOf(() => validateCohortStatsRequest({ metric: 42, from, to, bucket: 'HOUR' }, limits))).toBe(
      ErrorCode.INVALID_METRIC,
    );
  });

  it('rejects unknown buckets, bad limits and bad ranges', () => {
    const ok = { metric: 'steps', from, to };
    expect(codeOf(() => validateCohortStatsRequest({ ...ok, bucket: 'WEEK' }, limits))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(codeOf(() => validateCohortStatsRequest({ ...ok, bucket: "HOUR'" }, limits))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(codeOf(() => validateCohortStatsRequest({ ...ok, bucket: 'toString' }, limits))).toBe(
      ErrorCode.BAD_USER_INPUT,
    );
    for (const limit of [0, -1, 1.5, 1001, Number.NaN, '10']) {
      expect(codeOf(() => validateLeaderboardRequest({ ...ok, limit }, limits))).toBe(ErrorCode.BAD_USER_INPUT);
    }
    expect(validateLeaderboardRequest(ok, limits).limit).toBe(10);
    expect(codeOf(() => validateLeaderboardRequest({ ...ok, from: to, to: from }, limits))).toBe(
      ErrorCode.INVALID_RANGE,
    );
    expect(codeOf(() => validateLeaderboardRequest({ ...ok, to: from }, limits))).toBe(ErrorCode.INVALID_RANGE);
    expect(codeOf(() => validateLeaderboardRequest({ ...ok, from: new Date('nope') }, limits))).toBe(
      ErrorCode.INVALID_RANGE,
    );
    expect(codeOf(() => validateLeaderboardRequest({ ...ok, from: '2026-11-24T10:00:00Z' }, limits))).toBe(
      ErrorCode.INVALID_RANGE,
    );
    expect(
      codeOf(() => validateLeaderboardRequest({ ...ok, from: new Date(0), to: new Date(400 * 86_400_000) }, limits)),
    ).toBe(ErrorCode.INVALID_RANGE);
  });

  it('refuses to render anything but checked values, even if validation were skipped', () => {
    // A token is only ever rendered as a quoted literal; what the renderer guards is its shape.
    for (const value of hostile.filter((v) => v !== 'readings')) {
      expect(() => renderLiteral({ type: 'token', value })).toThrow(SqlRenderError);
    }
    expect(() => renderLiteral({ type: 'bigint', value: 1.5 })).toThrow(SqlRenderError);
    expect(() => renderLiteral({ type: 'bigint', value: Number.POSITIVE_INFINITY })).toThrow(SqlRenderError);
    expect(() => renderLiteral({ type: 'timestamp', value: new Date('nope') })).toThrow(SqlRenderError);
    expect(() => renderLiteral({ type: 'timestamp', value: new Date(8.64e15) })).toThrow(SqlRenderError);
    expect(() => renderLiteral({ type: 'timestamp', value: '2026-11-24' as unknown as Date })).toThrow(SqlRenderError);
  });

  it('renders timestamps in UTC with milliseconds, whatever the time zone of the process', () => {
    expect(renderLiteral({ type: 'timestamp', value: new Date('2026-11-24T23:59:59.999+02:00') })).toBe(
      "TIMESTAMP '2026-11-24 21:59:59.999 UTC'",
    );
  });

  it('copies the request instants, so a caller mutating its Date cannot change a statement', () => {
    const f = new Date(from);
    const req = validateCohortStatsRequest({ metric: 'steps', from: f, to, bucket: 'HOUR' }, limits);
    f.setUTCFullYear(2000);
    expect(req.from.toISOString()).toBe(from.toISOString());
  });
});

describe('result rows', () => {
  it('turns cohort rows into points labelled by bucket start', () => {
    const index = bucketIndex(from.getTime(), 'FIVE_MINUTES');
    const points = parseCohortStatsRows([[index, 3, 30, 71.5, 60, 90, [70, 88.5]]], 'FIVE_MINUTES');
    expect(points).toEqual([{ time: from, users: 3, count: 30, avg: 71.5, min: 60, max: 90, p50: 70, p95: 88.5 }]);
  });

  it('fails clearly on a row of the wrong shape', () => {
    expect(() => parseCohortStatsRows([[1, 3, 30, 71.5, 60, 90, [70]]], 'HOUR')).toThrow(TrinoError);
    expect(() => parseCohortStatsRows([[1, 'x', 30, 71.5, 60, 90, [70, 80]]], 'HOUR')).toThrow(TrinoError);
  });

  it('ranks leaderboard rows with competition ranking', () => {
    const ranked = parseLeaderboardRows(
      [
        ['u-a', 100],
        ['u-b', 90],
        ['u-c', 90],
        ['u-d', 80],
      ],
      'fitbit_leaderboard_sum',
    );
    expect(ranked.map((e) => [e.rank, e.userId])).toEqual([
      [1, 'u-a'],
      [2, 'u-b'],
      [2, 'u-c'],
      [4, 'u-d'],
    ]);
  });
});
