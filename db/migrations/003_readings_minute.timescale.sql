-- TimescaleDB: readings_minute as a continuous aggregate with the same columns as the plain
-- layout's table (user_id, metric, minute, count, sum, min, max), so src/timescale/series.sql.ts
-- reads both the same way. Hypertables do not support transition tables, hence no triggers here.
--
-- Not run by the test suite: the development machines have no TimescaleDB, so this file is
-- checked by reading only (tests/unit/migrations.test.ts checks its shape, not its execution).
--
-- Exactness: `materialized_only = false` (real-time aggregation) answers from the materialized
-- minutes below the aggregate's watermark and from readings above it, so new readings show at
-- once. Readings written or deleted below the watermark (late arrivals, deletes of old data) are
-- recorded as invalidations and reach the materialized minutes at the policy's next run (every
-- minute, over the whole history), so until then a series over those minutes can lag behind
-- readings.
--
-- WITH NO DATA because a continuous aggregate cannot be filled inside a transaction block (every
-- migration runs in one); the policy's first run materializes the history, and until then
-- real-time aggregation computes everything from readings (exact, not yet fast).
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_minute
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT user_id,
       metric,
       time_bucket(INTERVAL '1 minute', time) AS minute,
       count(*)   AS count,
       sum(value) AS sum,
       min(value) AS min,
       max(value) AS max
FROM readings
GROUP BY user_id, metric, time_bucket(INTERVAL '1 minute', time)
WITH NO DATA;

-- start_offset NULL: from the earliest reading, so invalidations anywhere in the history are
-- refreshed; end_offset of one minute leaves the current (still filling) minute to real time.
SELECT add_continuous_aggregate_policy('readings_minute',
  start_offset      => NULL,
  end_offset        => INTERVAL '1 minute',
  schedule_interval => INTERVAL '1 minute',
  if_not_exists     => TRUE);
