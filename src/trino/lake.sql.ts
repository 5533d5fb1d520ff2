/**
 * The lake's tables and the statements that fill them (docs/lake.md).
 *
 * Tables, in `<lake catalog>.<lake schema>`:
 * - `readings`: every tiered reading, as in the hot store. Partitioned by hour, so replacing an
 *   hour is a metadata-only delete; sorted by metric inside files so a metric's rows are together.
 * - `minute_rollups`: per (metric, minute): readings, sum, min, max, the number of users, and a
 *   t-digest of the values (Trino's `tdigest` stored as varbinary; digests merge).
 * - `user_hour_rollups`: per (user, metric, hour): readings, sum, min, max. Distinct users of a
 *   day or a local day are the distinct user_ids of its hours (exact at any count), and
 *   leaderboards add the hours up.
 * - `hour_rollups`: per (metric, hour): the hour's figures, its exact number of users and one
 *   t-digest, derived from the two above. HOUR and DAY buckets read one row per hour: a month of
 *   a cohort is 720 rows and 720 digests to merge, not 43,200.
 * Both rollup tables are partitioned by day and compacted once a day is complete, so a month is
 * a few dozen files however often the tierer commits.
 *
 * Identifiers come from validated configuration (catalog and schema names: lower snake case).
 */
import type { Interval } from './lake.plan.js';
import { renderLiteral, type PreparedStatement, type SqlParam } from './prepared-statement.js';

export interface LakeTables {
  /** e.g. `timescale.public.readings`: the hot store as Trino sees it. */
  hot: string;
  schema: string;
  readings: string;
  minuteRollups: string;
  userHourRollups: string;
  hourRollups: string;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

export function lakeTables(
  hot: { catalog: string; schema: string },
  lake: { catalog: string; schema: string },
): LakeTables {
  for (const name of [hot.catalog, hot.schema, lake.catalog, lake.schema]) {
    if (!IDENT.test(name)) throw new Error(`expected a lower snake case Trino identifier, got ${JSON.stringify(name)}`);
  }
  const schema = `${lake.catalog}.${lake.schema}`;
  return {
    hot: `${hot.catalog}.${hot.schema}.readings`,
    schema,
    readings: `${schema}.readings`,
    minuteRollups: `${schema}.minute_rollups`,
    userHourRollups: `${schema}.user_hour_rollups`,
    hourRollups: `${schema}.hour_rollups`,
  };
}

/** Builds one statement: `p()` adds a value and returns its placeholder. */
export class StatementBuilder {
  readonly params: SqlParam[] = [];
  p(param: SqlParam): string {
    this.params.push(param);
    return '?';
  }
  ts(ms: number): string {
    return this.p({ type: 'timestamp', value: new Date(ms) });
  }
  /** `(col >= a AND col < b) OR ...`; FALSE for no interval. */
  within(column: string, intervals: readonly Interval[]): string {
    if (intervals.length === 0) return 'FALSE';
    return intervals.map(([s, e]) => `(${column} >= ${this.ts(s)} AND ${column} < ${this.ts(e)})`).join(' OR ');
  }
  build(name: string, sql: string): PreparedStatement {
    return { name, sql, params: [...this.params] };
  }
}

export function createStatements(t: LakeTables): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${t.schema}`,
    [
      `CREATE TABLE IF NOT EXISTS ${t.readings} (`,
      '  user_id varchar, metric varchar, "time" timestamp(6) with time zone, value double,',
      '  device_id varchar, event_id varchar, ingested_at timestamp(6) with time zone',
      `) WITH (partitioning = ARRAY['hour(time)'], sorted_by = ARRAY['metric', 'user_id'])`,
    ].join('\n'),
    [
      `CREATE TABLE IF NOT EXISTS ${t.minuteRollups} (`,
      '  metric varchar, minute timestamp(6) with time zone, hour timestamp(6) with time zone,',
      '  readings bigint, value_sum double, value_min double, value_max double, users bigint, digest varbinary',
      `) WITH (partitioning = ARRAY['day(hour)'], sorted_by = ARRAY['metric', 'minute'])`,
    ].join('\n'),
    [
      `CREATE TABLE IF NOT EXISTS ${t.userHourRollups} (`,
      '  user_id varchar, metric varchar, hour timestamp(6) with time zone,',
      '  readings bigint, value_sum double, value_min double, value_max double',
      `) WITH (partitioning = ARRAY['day(hour)'], sorted_by = ARRAY['metric', 'hour'])`,
    ].join('\n'),
    [
      `CREATE TABLE IF NOT EXISTS ${t.hourRollups} (`,
      '  metric varchar, hour timestamp(6) with time zone,',
      '  readings bigint, value_sum double, value_min double, value_max double, users bigint, digest varbinary',
      `) WITH (partitioning = ARRAY['day(hour)'], sorted_by = ARRAY['metric', 'hour'])`,
    ].join('\n'),
  ];
}

/**
 * The minute rollups of the readings of `source` (a table or a subquery with the readings'
 * columns user_id, metric, "time", value) that match `where`. The bench computes its large
 * tiers with the same text over generated rows.
 */
export function minuteRollupSelect(source: string, where: string): string {
  return [
    `SELECT metric, date_trunc('minute', "time"), date_trunc('hour', "time"),`,
    '  count(*), sum(value), min(value), max(value), count(DISTINCT user_id), CAST(tdigest_agg(value) AS varbinary)',
    `FROM ${source} WHERE ${where}`,
    'GROUP BY 1, 2, 3',
  ].join('\n');
}

/** The per-user hour rollups of `source` (as for minuteRollupSelect). */
export function userHourRollupSelect(source: string, where: string): string {
  return [
    `SELECT user_id, metric, date_trunc('hour', "time"), count(*), sum(value), min(value), max(value)`,
    `FROM ${source} WHERE ${where}`,
    'GROUP BY 1, 2, 3',
  ].join('\n');
}

/**
 * The hour rollups of the hours matching `where` (on `hour`), from the minute and per-user hour
 * rollups already in the lake: figures added up, digests merged, users counted from the per-user rows.
 */
export function hourRollupSelect(t: LakeTables, where: (column: string) => string): string {
  return [
    'SELECT m.metric, m.hour, sum(m.readings), sum(m.value_sum), min(m.value_min), max(m.value_max), u.users,',
    '  CAST(merge(CAST(m.digest AS tdigest)) AS varbinary)',
    `FROM ${t.minuteRollups} m`,
    `JOIN (SELECT metric, hour, count(*) AS users FROM ${t.userHourRollups} WHERE ${where('hour')} GROUP BY 1, 2) u`,
    '  ON u.metric = m.metric AND u.hour = m.hour',
    `WHERE ${where('m.hour')}`,
    'GROUP BY m.metric, m.hour, u.users',
  ].join('\n');
}

/**
 * Replaces the lake's copy of whole hours with what the hot store holds now, in order: raw
 * readings (delete, then copy from the hot store), then both rollups recomputed from the lake's
 * readings of those hours. Each statement is idempotent, so a cycle cut short is simply run again.
 * Readers never see the in-between states: they read these hours from the hot store until the
 * ledger says they are tiered and clean.
 */
export function tierStatements(t: LakeTables, hours: readonly Interval[]): PreparedStatement[] {
  const stmt = (name: string, render: (b: StatementBuilder) => string): PreparedStatement => {
    const b = new StatementBuilder();
    const sql = render(b);
    return b.build(name, sql);
  };
  return [
    stmt('fitbit_lake_drop_readings', (b) => `DELETE FROM ${t.readings} WHERE ${b.within('"time"', hours)}`),
    stmt('fitbit_lake_copy_readings', (b) =>
      [
        `INSERT INTO ${t.readings}`,
        'SELECT r.user_id, r.metric, r."time", r.value, r.device_id, r.event_id, r.ingested_at',
        `FROM ${t.hot} r WHERE ${b.within('r."time"', hours)}`,
      ].join('\n'),
    ),
    stmt('fitbit_lake_drop_minutes', (b) => `DELETE FROM ${t.minuteRollups} WHERE ${b.within('hour', hours)}`),
    stmt(
      'fitbit_lake_roll_minutes',
      (b) => `INSERT INTO ${t.minuteRollups}\n${minuteRollupSelect(t.readings, b.within('"time"', hours))}`,
    ),
    stmt('fitbit_lake_drop_user_hours', (b) => `DELETE FROM ${t.userHourRollups} WHERE ${b.within('hour', hours)}`),
    stmt(
      'fitbit_lake_roll_user_hours',
      (b) => `INSERT INTO ${t.userHourRollups}\n${userHourRollupSelect(t.readings, b.within('"time"', hours))}`,
    ),
    stmt('fitbit_lake_drop_hours', (b) => `DELETE FROM ${t.hourRollups} WHERE ${b.within('hour', hours)}`),
    stmt(
      'fitbit_lake_roll_hours',
      (b) => `INSERT INTO ${t.hourRollups}\n${hourRollupSelect(t, (column) => b.within(column, hours))}`,
    ),
  ];
}

/**
 * Rewrites one complete day of every lake table into few large files (a replace commit: readers
 * see no change), then expires old snapshots. ALTER TABLE EXECUTE takes no parameters, so the day's bounds are rendered as
 * checked literals.
 */
export function compactStatements(t: LakeTables, dayStartMs: number): string[] {
  const from = renderLiteral({ type: 'timestamp', value: new Date(dayStartMs) });
  const to = renderLiteral({ type: 'timestamp', value: new Date(dayStartMs + 86_400_000) });
  return [
    `ALTER TABLE ${t.readings} EXECUTE optimize WHERE "time" >= ${from} AND "time" < ${to}`,
    `ALTER TABLE ${t.minuteRollups} EXECUTE optimize WHERE hour >= ${from} AND hour < ${to}`,
    `ALTER TABLE ${t.userHourRollups} EXECUTE optimize WHERE hour >= ${from} AND hour < ${to}`,
    `ALTER TABLE ${t.hourRollups} EXECUTE optimize WHERE hour >= ${from} AND hour < ${to}`,
    // Replaced files (compaction, rewritten hours, erasures) leave the object store once no
    // snapshot younger than Trino's minimum retention (7 days by default) refers to them.
    ...[t.readings, t.minuteRollups, t.userHourRollups, t.hourRollups].map(
      (table) => `ALTER TABLE ${table} EXECUTE expire_snapshots(retention_threshold => '7d')`,
    ),
  ];
}
