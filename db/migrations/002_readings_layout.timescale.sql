-- TimescaleDB: the same table as a hypertable chunked by day, compressed after a week.
-- Segmenting by user and metric keeps per-user scans fast on compressed chunks.
SELECT create_hypertable('readings', by_range('time', INTERVAL '1 day'), if_not_exists => TRUE, migrate_data => TRUE);
ALTER TABLE readings SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'user_id, metric',
  timescaledb.compress_orderby = 'time DESC'
);
SELECT add_compression_policy('readings', INTERVAL '7 days', if_not_exists => TRUE);
