-- Plain Postgres: readings_minute holds count, sum, min and max of every (user, metric, minute)
-- that has readings, so `series` at a minute or wider reads one row per minute instead of every
-- reading (src/timescale/series.sql.ts). Minutes are aligned to the Unix epoch in UTC, like the
-- series buckets.
--
-- Kept exact in the writing transaction by statement-level triggers with transition tables on
-- readings: one trigger call per statement (one per worker batch, one per COPY), whatever the
-- number of rows. A reading that INSERT .. ON CONFLICT DO NOTHING skipped is not in the
-- transition table, so duplicates are not counted twice.
--   INSERT (also COPY): adds the inserted rows' aggregates to their minutes (upsert).
--   DELETE, UPDATE:     recomputes the affected minutes from readings (min and max cannot be
--                       subtracted); a minute left without readings loses its row.
--   TRUNCATE:           empties the rollup.

-- Writers wait while the rollup is built, so no reading is written between the backfill and the
-- triggers (readers are not blocked).
LOCK TABLE readings IN SHARE ROW EXCLUSIVE MODE;

-- A minute's row is updated by every later batch that adds readings to it; free space left on its
-- page lets those updates stay HOT (no index entry written).
CREATE TABLE IF NOT EXISTS readings_minute (
  user_id text             NOT NULL,
  metric  text             NOT NULL,
  minute  timestamptz      NOT NULL,
  count   bigint           NOT NULL,
  sum     double precision NOT NULL,
  min     double precision NOT NULL,
  max     double precision NOT NULL,
  PRIMARY KEY (user_id, metric, minute)
) WITH (fillfactor = 80);

-- The minutes are upserted in key order so that two workers writing the same minutes lock them
-- in the same order (no deadlock between concurrent batches).
CREATE OR REPLACE FUNCTION readings_minute_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO readings_minute AS m (user_id, metric, minute, count, sum, min, max)
  SELECT user_id, metric, date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS minute,
         count(*), sum(value), min(value), max(value)
  FROM new_rows
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (user_id, metric, minute) DO UPDATE SET
    count = m.count + EXCLUDED.count,
    sum   = m.sum + EXCLUDED.sum,
    min   = least(m.min, EXCLUDED.min),
    max   = greatest(m.max, EXCLUDED.max);
  RETURN NULL;
END
$$;

-- Recomputes the given minutes from readings. Their rollup rows are locked first, in key order;
-- the recompute is a later statement, so under READ COMMITTED its snapshot includes every
-- reading committed by a concurrent writer that held one of those rows. A writer that comes after
-- the lock waits for this transaction and then adds its own readings on top.
CREATE OR REPLACE FUNCTION readings_minute_recompute(users text[], metrics text[], minutes timestamptz[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1
  FROM readings_minute m
  JOIN unnest(users, metrics, minutes) AS k(user_id, metric, minute)
    ON m.user_id = k.user_id AND m.metric = k.metric AND m.minute = k.minute
  ORDER BY m.user_id, m.metric, m.minute
  FOR UPDATE OF m;

  WITH fresh AS (
    SELECT k.user_id, k.metric, k.minute, a.count, a.sum, a.min, a.max
    FROM unnest(users, metrics, minutes) AS k(user_id, metric, minute)
    CROSS JOIN LATERAL (
      SELECT count(*) AS count, sum(r.value) AS sum, min(r.value) AS min, max(r.value) AS max
      FROM readings r
      WHERE r.user_id = k.user_id AND r.metric = k.metric
        AND r.time >= k.minute AND r.time < k.minute + INTERVAL '1 minute'
    ) AS a
  ),
  emptied AS (
    DELETE FROM readings_minute m
    USING fresh f
    WHERE f.count = 0 AND m.user_id = f.user_id AND m.metric = f.metric AND m.minute = f.minute
  )
  INSERT INTO readings_minute AS m (user_id, metric, minute, count, sum, min, max)
  SELECT user_id, metric, minute, count, sum, min, max
  FROM fresh
  WHERE count > 0
  ORDER BY user_id, metric, minute
  ON CONFLICT (user_id, metric, minute) DO UPDATE SET
    count = EXCLUDED.count,
    sum   = EXCLUDED.sum,
    min   = EXCLUDED.min,
    max   = EXCLUDED.max;
END
$$;

CREATE OR REPLACE FUNCTION readings_minute_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM readings_minute_recompute(array_agg(user_id), array_agg(metric), array_agg(minute))
  FROM (
    SELECT DISTINCT user_id, metric, date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS minute
    FROM old_rows
  ) AS k;
  RETURN NULL;
END
$$;

-- An update may move a reading to another user, metric or minute: both the old and the new
-- minutes are recomputed.
CREATE OR REPLACE FUNCTION readings_minute_after_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM readings_minute_recompute(array_agg(user_id), array_agg(metric), array_agg(minute))
  FROM (
    SELECT user_id, metric, date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS minute
    FROM old_rows
    UNION
    SELECT user_id, metric, date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '1970-01-01 00:00:00+00')
    FROM new_rows
  ) AS k;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION readings_minute_after_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE readings_minute;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS readings_minute_insert ON readings;
DROP TRIGGER IF EXISTS readings_minute_delete ON readings;
DROP TRIGGER IF EXISTS readings_minute_update ON readings;
DROP TRIGGER IF EXISTS readings_minute_truncate ON readings;

CREATE TRIGGER readings_minute_insert AFTER INSERT ON readings
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION readings_minute_after_insert();
CREATE TRIGGER readings_minute_delete AFTER DELETE ON readings
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION readings_minute_after_delete();
CREATE TRIGGER readings_minute_update AFTER UPDATE ON readings
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION readings_minute_after_update();
CREATE TRIGGER readings_minute_truncate AFTER TRUNCATE ON readings
  FOR EACH STATEMENT EXECUTE FUNCTION readings_minute_after_truncate();

-- Backfill: the readings stored before this migration (the lock above keeps writers out), in key
-- order so that one user's minutes sit on neighbouring pages.
TRUNCATE readings_minute;
INSERT INTO readings_minute (user_id, metric, minute, count, sum, min, max)
SELECT user_id, metric, date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '1970-01-01 00:00:00+00'),
       count(*), sum(value), min(value), max(value)
FROM readings
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;

ANALYZE readings_minute;
