-- Plain Postgres: the primary key (user_id, metric, time) already serves per-user time-range
-- scans; a BRIN index on time keeps cross-user range scans (Trino's cohort queries) cheap.
CREATE INDEX IF NOT EXISTS readings_time_brin ON readings USING brin (time);
