/**
 * cohortStats and leaderboard over the lake and the hot store in one Trino query: the lake part
 * (lake.plan.ts) from rollups, the rest from the hot store's raw readings, merged per bucket.
 * Same columns as the hot-only statements (cohort.query.ts, leaderboard.query.ts), so the same
 * parsers read both.
 *
 * How each figure stays exact across the two parts:
 * - count, sum, min, max: added, summed, min'd and max'd over the parts (avg = sum / count).
 * - users: the distinct user_ids of the bucket over both parts: the hour's or the minute's exact
 *   count for HOUR and MINUTE (such a bucket lies wholly in one part), per-user hour rollups for
 *   days, the lake's raw readings for 5 and 15 minutes; SECOND buckets read the lake's raw
 *   readings for everything.
 * - p50, p95: t-digests, stored per minute in the lake and built per bucket and user from hot rows,
 *   merged. A merged t-digest keeps its rank error (docs/lake.md has the measured figure).
 */
import { BUCKETS } from '../domain/metrics.js';
import type { CohortStatsRequest, LeaderboardRequest } from './aggregate.request.js';
import { cohortGrid } from './aggregate.request.js';
import { bucketWidthSeconds } from './cohort.query.js';
import { leaderboardAggregate } from './leaderboard.query.js';
import { HOUR_MS, splitRange, type LakeView, type RangeSplit } from './lake.plan.js';
import { StatementBuilder, type LakeTables } from './lake.sql.js';
import type { PreparedStatement } from './prepared-statement.js';

export const LAKE_COHORT_STATEMENT = 'fitbit_cohort_stats_lake';
export const LAKE_LEADERBOARD_STATEMENT = 'fitbit_leaderboard_lake';

/** How finely the lake part is cut for a bucket: rollups stand for whole minutes or hours. */
export function cohortAlignment(request: CohortStatsRequest): number {
  const width = BUCKETS[request.bucket];
  if (width >= HOUR_MS || cohortGrid(request.bucket, request.timeZone).kind === 'local') return HOUR_MS;
  return width; // SECOND (raw), MINUTE, FIVE_MINUTES, FIFTEEN_MINUTES: all divide an hour
}

/**
 * Local hours and days are whole UTC hours only where the zone's offset is a whole number of
 * hours throughout the range; elsewhere (India, Nepal, parts of Australia) the hot store answers.
 */
export function zoneFitsHours(zone: string, from: Date, to: Date): boolean {
  const offsets = new Set<number>();
  const step = 7 * 86_400_000;
  for (let t = from.getTime(); t < to.getTime() + step; t += step) {
    const at = new Date(Math.min(t, to.getTime()));
    const local = new Date(at.toLocaleString('en-US', { timeZone: zone }));
    const utc = new Date(at.toLocaleString('en-US', { timeZone: 'UTC' }));
    offsets.add(Math.round((local.getTime() - utc.getTime()) / 60_000));
  }
  return [...offsets].every((minutes) => minutes % 60 === 0);
}

export function cohortSplit(request: CohortStatsRequest, view: LakeView): RangeSplit {
  const grid = cohortGrid(request.bucket, request.timeZone);
  if (grid.kind === 'local' && !zoneFitsHours(grid.zone, request.from, request.to)) {
    return { lake: [], hot: [[request.from.getTime(), request.to.getTime()]] };
  }
  return splitRange(request.from, request.to, cohortAlignment(request), view);
}

export function lakeCohortStatement(request: CohortStatsRequest, split: RangeSplit, t: LakeTables): PreparedStatement {
  const q = new StatementBuilder();
  const grid = cohortGrid(request.bucket, request.timeZone);
  const bucketOf = (x: string): string =>
    grid.kind === 'local'
      ? `CAST(round(to_unixtime(date_trunc(${q.p({ type: 'token', value: grid.unit })}, at_timezone(${x}, ${q.p({ type: 'zone', value: grid.zone })}))) * 1000) AS bigint)`
      : `CAST(floor(to_unixtime(${x}) / ${q.p({ type: 'bigint', value: bucketWidthSeconds(request.bucket) })}) AS bigint)`;
  const metric = (): string => q.p({ type: 'token', value: request.metric });
  const raw = (table: string, intervals: RangeSplit['hot']): string =>
    [
      `SELECT ${bucketOf('r."time"')} AS b, r.user_id, count(*) AS n, sum(r.value) AS s,`,
      '  min(r.value) AS lo, max(r.value) AS hi, tdigest_agg(r.value) AS d',
      `FROM ${table} r WHERE r.metric = ${metric()} AND (${q.within('r."time"', intervals)})`,
      'GROUP BY 1, 2',
    ].join('\n');

  const width = BUCKETS[request.bucket];
  const rawLake = width < BUCKETS.MINUTE; // SECOND: rollups are too coarse
  const ctes: string[] = [`hot AS (\n${raw(t.hot, split.hot)}\n)`];
  if (rawLake) {
    ctes.push(`lake_raw AS (\n${raw(t.readings, split.lake)}\n)`);
    ctes.push('stats AS (SELECT b, n, s, lo, hi, d FROM hot UNION ALL SELECT b, n, s, lo, hi, d FROM lake_raw)');
    ctes.push(
      'counted AS (SELECT b, count(*) AS users FROM (SELECT b, user_id FROM hot UNION SELECT b, user_id FROM lake_raw) GROUP BY b)',
    );
  } else {
    // HOUR, DAY and local hours and days read one row per hour; 1 to 15 minute buckets one per minute.
    const hourly = cohortAlignment(request) === HOUR_MS;
    const rollups = hourly ? { table: t.hourRollups, unit: 'hour' } : { table: t.minuteRollups, unit: 'minute' };
    ctes.push(
      [
        'stats AS (',
        'SELECT b, n, s, lo, hi, d FROM hot',
        'UNION ALL',
        `SELECT ${bucketOf(`m.${rollups.unit}`)}, m.readings, m.value_sum, m.value_min, m.value_max, CAST(m.digest AS tdigest)`,
        `FROM ${rollups.table} m WHERE m.metric = ${metric()} AND (${q.within(`m.${rollups.unit}`, split.lake)})`,
        ')',
      ].join('\n'),
    );
    // A bucket of exactly one rollup unit lies wholly in one part: its users are the unit's count.
    const oneUnit = hourly
      ? grid.kind === 'local'
        ? grid.unit === 'hour'
        : request.bucket === 'HOUR'
      : width === BUCKETS.MINUTE;
    if (oneUnit) {
      ctes.push(
        [
          'counted AS (',
          'SELECT b, count(*) AS users FROM hot GROUP BY b',
          'UNION ALL',
          `SELECT ${bucketOf(`m.${rollups.unit}`)}, m.users FROM ${rollups.table} m`,
          `WHERE m.metric = ${metric()} AND (${q.within(`m.${rollups.unit}`, split.lake)})`,
          ')',
        ].join('\n'),
      );
    } else {
      const lakeMembers = hourly
        ? `SELECT ${bucketOf('u.hour')}, u.user_id FROM ${t.userHourRollups} u WHERE u.metric = ${metric()} AND (${q.within('u.hour', split.lake)})`
        : `SELECT DISTINCT ${bucketOf('l."time"')}, l.user_id FROM ${t.readings} l WHERE l.metric = ${metric()} AND (${q.within('l."time"', split.lake)})`;
      ctes.push(
        `counted AS (SELECT b, count(*) AS users FROM (SELECT b, user_id FROM hot UNION ${lakeMembers}) GROUP BY b)`,
      );
    }
  }
  ctes.push('totals AS (SELECT b, sum(users) AS users FROM counted GROUP BY b)');
  const sql = [
    `WITH ${ctes.join(',\n')}`,
    'SELECT st.b, t.users, sum(st.n) AS readings, sum(st.s) / sum(st.n) AS avg_value,',
    '  min(st.lo) AS min_value, max(st.hi) AS max_value,',
    '  ARRAY[value_at_quantile(merge(st.d), 0.5), value_at_quantile(merge(st.d), 0.95)] AS percentiles',
    'FROM stats st JOIN totals t ON t.b = st.b',
    'GROUP BY st.b, t.users',
    'ORDER BY st.b',
  ].join('\n');
  return q.build(LAKE_COHORT_STATEMENT, sql);
}

export function leaderboardSplit(request: LeaderboardRequest, view: LakeView): RangeSplit {
  return splitRange(request.from, request.to, HOUR_MS, view);
}

export function lakeLeaderboardStatement(
  request: LeaderboardRequest,
  split: RangeSplit,
  t: LakeTables,
): PreparedStatement {
  const q = new StatementBuilder();
  const metric = (): string => q.p({ type: 'token', value: request.metric });
  const score = leaderboardAggregate(request.metric) === 'sum' ? 'sum(s)' : 'sum(s) / sum(n)';
  const sql = [
    'WITH parts AS (',
    `SELECT r.user_id, count(*) AS n, sum(r.value) AS s FROM ${t.hot} r`,
    `WHERE r.metric = ${metric()} AND (${q.within('r."time"', split.hot)}) GROUP BY 1`,
    'UNION ALL',
    `SELECT u.user_id, u.readings, u.value_sum FROM ${t.userHourRollups} u`,
    `WHERE u.metric = ${metric()} AND (${q.within('u.hour', split.lake)})`,
    ')',
    `SELECT user_id, ${score} AS score FROM parts GROUP BY user_id`,
    'ORDER BY score DESC, user_id ASC',
    `LIMIT ${q.p({ type: 'bigint', value: request.limit })}`,
  ].join('\n');
  return q.build(LAKE_LEADERBOARD_STATEMENT, sql);
}
