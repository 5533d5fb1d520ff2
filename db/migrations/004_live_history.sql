-- What the Flink job published on its output topics, as clients read it back (windows and alerts
-- queries, subscriptions resumed from an old cursor). The job writes at least once: the primary
-- keys are the identities of docs/contracts.md, so a repeat is stored once, with the topic position
-- of its first publication (which is what a cursor names).
CREATE TABLE IF NOT EXISTS metric_windows (
  user_id         text             NOT NULL,
  metric          text             NOT NULL,
  window_start    timestamptz      NOT NULL,
  window_end      timestamptz      NOT NULL,
  count           integer          NOT NULL,
  avg             double precision NOT NULL,
  min             double precision NOT NULL,
  max             double precision NOT NULL,
  sum             double precision NOT NULL,
  topic           text             NOT NULL,
  kafka_partition integer          NOT NULL,
  kafka_offset    bigint           NOT NULL,
  stored_at       timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, metric, window_start)
);
-- A user's windows by time (the windows query) and by position (a replay from a cursor).
CREATE INDEX IF NOT EXISTS metric_windows_user_time ON metric_windows (user_id, window_start);
CREATE INDEX IF NOT EXISTS metric_windows_position ON metric_windows (topic, kafka_partition, kafka_offset);

CREATE TABLE IF NOT EXISTS alert_events (
  alert_id        text        PRIMARY KEY,
  user_id         text        NOT NULL,
  kind            text        NOT NULL,
  time            timestamptz NOT NULL,
  message         text        NOT NULL,
  details         jsonb,
  topic           text        NOT NULL,
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  stored_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alert_events_user_time ON alert_events (user_id, time);
CREATE INDEX IF NOT EXISTS alert_events_time ON alert_events (time);
