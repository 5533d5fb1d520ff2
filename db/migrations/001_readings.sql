-- Readings as stored by the consumer worker. The identity of a reading (docs/contracts.md) is
-- (user_id, metric, time): the primary key makes a replayed or duplicated message harmless.
CREATE TABLE IF NOT EXISTS readings (
  user_id     text             NOT NULL,
  metric      text             NOT NULL,
  time        timestamptz      NOT NULL,
  value       double precision NOT NULL,
  device_id   text,
  event_id    text,
  ingested_at timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, metric, time)
);
