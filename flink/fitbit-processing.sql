-- The real-time processing job: fitbit_ingestion -> fitbit_processed (metric windows) and fitbit_alerts.
--
-- One statement set, so one Flink job that reads the source topic once. `npm run flink:deploy`
-- (src/flink/) fills in every ${...} placeholder from the configuration and submits the statements
-- in order through the SQL Gateway; after substitution the file also runs as-is in Flink's SQL client.
-- Message shapes are the contracts of docs/contracts.md: reading v1 in, metric window v1 and alert v1 out.
-- Durations arrive as 'D HH:MM:SS.mmm' day-to-second literals (FLINK_WINDOW_SECONDS=60 gives
-- '0 00:01:00.000'): Flink's code generation only takes SECOND intervals up to 999 s.

SET 'pipeline.name' = '${JOB_NAME}';
SET 'parallelism.default' = '${PARALLELISM}';
-- Offsets live in checkpoints (and are committed to the consumer group on each one), so a restarted
-- job resumes where it stopped instead of re-reading or skipping the topic.
SET 'execution.checkpointing.interval' = '${CHECKPOINT_INTERVAL_MS} ms';
SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';
-- Window bounds and the RFC 3339 strings below are UTC; any other session zone would shift them.
SET 'table.local-time-zone' = 'UTC';
-- A partition that has been quiet this long stops holding the watermark back for the others.
SET 'table.exec.source.idle-timeout' = '${IDLE_TIMEOUT_SECONDS} s';

-- Reading v1 as sent by the gateway or any other producer. Anything that is not JSON is skipped by
-- the format (the consumer worker routes it to the DLQ); a field of the wrong type reads as NULL and
-- the row is dropped by the `valid_readings` filter below.
CREATE TEMPORARY TABLE readings (
  userId STRING,
  metric STRING,
  `time` STRING,
  `value` DOUBLE,
  -- `time` is RFC 3339 with `Z` or an offset and any number of fraction digits: whole seconds come
  -- from the offset-aware UNIX_TIMESTAMP, milliseconds from the first three fraction digits. A time
  -- that cannot be read becomes the epoch instead of NULL, because a NULL rowtime fails the job;
  -- such rows are filtered out before any window sees them.
  eventTime AS COALESCE(
    TO_TIMESTAMP_LTZ(
      UNIX_TIMESTAMP(
        CONCAT(SUBSTRING(`time` FROM 1 FOR 19), REGEXP_EXTRACT(`time`, '([Zz]|[+-][0-9]{2}:[0-9]{2})$', 1)),
        'yyyy-MM-dd''T''HH:mm:ssXXX'
      ) * 1000
        + CAST(SUBSTRING(CONCAT(COALESCE(REGEXP_EXTRACT(`time`, '^[^.]*\.([0-9]+)', 1), ''), '000') FROM 1 FOR 3) AS INT),
      3
    ),
    TO_TIMESTAMP_LTZ(0, 3)
  ),
  -- Readings may arrive up to the lateness out of order. LEAST keeps a reading stamped in the future
  -- from dragging the watermark ahead of the wall clock and making everyone else's readings late.
  -- The gateway's heartbeat records ({"type":"heartbeat","time":<wall clock>}, one per partition every
  -- FLINK_HEARTBEAT_INTERVAL_MS) move this watermark when no readings arrive, so windows close by the
  -- wall clock; having no userId, they are dropped by `valid_readings` and never reach a window.
  WATERMARK FOR eventTime AS LEAST(eventTime, CURRENT_TIMESTAMP) - INTERVAL '${LATENESS}' DAY TO SECOND(3)
) WITH (
  'connector' = 'kafka',
  'topic' = '${INGESTION_TOPIC}',
  'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
  'properties.group.id' = '${CONSUMER_GROUP}',
  -- Resume from the offsets of the last checkpoint; a brand-new group starts at the oldest retained reading.
  'scan.startup.mode' = 'group-offsets',
  'properties.auto.offset.reset' = 'earliest',
  -- New partitions are picked up without a redeploy.
  'scan.topic-partition-discovery.interval' = '60 s',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);

-- The reading v1 rules the consumer worker enforces, repeated here so a reading the worker sends to
-- the DLQ never lands in a window either. Ranges are the metric catalogue of docs/contracts.md.
CREATE TEMPORARY VIEW valid_readings AS
SELECT userId, metric, `value`, eventTime
FROM readings
WHERE userId IS NOT NULL
  AND REGEXP(userId, '^[A-Za-z0-9_.:@-]{1,64}$')
  AND `time` IS NOT NULL
  AND REGEXP(`time`, '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$')
  AND eventTime <= CURRENT_TIMESTAMP + INTERVAL '5' MINUTE
  AND `value` IS NOT NULL
  AND CASE metric
    WHEN 'heart_rate' THEN `value` BETWEEN 20 AND 250
    WHEN 'steps' THEN `value` BETWEEN 0 AND 1000
    WHEN 'calories' THEN `value` BETWEEN 0 AND 100
    WHEN 'distance' THEN `value` BETWEEN 0 AND 2000
    WHEN 'floors' THEN `value` BETWEEN 0 AND 100
    WHEN 'elevation' THEN `value` BETWEEN 0 AND 1000
    WHEN 'active_zone_minutes' THEN `value` BETWEEN 0 AND 60
    WHEN 'spo2' THEN `value` BETWEEN 50 AND 100
    WHEN 'hrv_rmssd' THEN `value` BETWEEN 0 AND 500
    WHEN 'breathing_rate' THEN `value` BETWEEN 2 AND 60
    WHEN 'skin_temperature_delta' THEN `value` BETWEEN -10 AND 10
    ELSE FALSE
  END;

-- Tumbling windows per user and metric, aligned to the Unix epoch. A window is emitted once, when the
-- watermark passes its end; readings for it that arrive after that are dropped (docs/flink.md).
CREATE TEMPORARY VIEW metric_windows AS
SELECT
  userId,
  metric,
  window_start,
  window_end,
  COUNT(*) AS sampleCount,
  AVG(`value`) AS avgValue,
  MIN(`value`) AS minValue,
  MAX(`value`) AS maxValue,
  SUM(`value`) AS sumValue
FROM TABLE(TUMBLE(TABLE valid_readings, DESCRIPTOR(eventTime), INTERVAL '${WINDOW_SIZE}' DAY TO SECOND(3)))
GROUP BY userId, metric, window_start, window_end;

-- Metric window v1, keyed by userId so one user's windows stay in order on one partition.
-- At-least-once: a record is visible as soon as it is written, and a restart may repeat the windows
-- written since the last checkpoint; consumers de-duplicate on (userId, metric, windowStart).
CREATE TEMPORARY TABLE processed_sink (
  userId STRING,
  metric STRING,
  windowStart STRING,
  windowEnd STRING,
  `count` BIGINT,
  `avg` DOUBLE,
  `min` DOUBLE,
  `max` DOUBLE,
  `sum` DOUBLE
) WITH (
  'connector' = 'kafka',
  'topic' = '${PROCESSED_TOPIC}',
  'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
  'key.format' = 'raw',
  'key.fields' = 'userId',
  'value.format' = 'json',
  'sink.delivery-guarantee' = 'at-least-once'
);

-- Alert v1, keyed by userId. `details` carries the numbers behind the alert; fields that do not apply
-- to a kind are left out of the JSON rather than written as null.
CREATE TEMPORARY TABLE alerts_sink (
  alertId STRING,
  userId STRING,
  kind STRING,
  `time` STRING,
  message STRING,
  details ROW<
    windowStart STRING,
    windowEnd STRING,
    heartRateAvg DOUBLE,
    heartRateThreshold DOUBLE,
    steps DOUBLE,
    stepsMax DOUBLE,
    spo2Min DOUBLE,
    spo2Avg DOUBLE,
    spo2Threshold DOUBLE
  >
) WITH (
  'connector' = 'kafka',
  'topic' = '${ALERTS_TOPIC}',
  'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
  'key.format' = 'raw',
  'key.fields' = 'userId',
  'value.format' = 'json',
  'value.json.encode.ignore-null-fields' = 'true',
  'sink.delivery-guarantee' = 'at-least-once'
);

EXECUTE STATEMENT SET
BEGIN

INSERT INTO processed_sink
SELECT
  userId,
  metric,
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  sampleCount,
  avgValue,
  minValue,
  maxValue,
  sumValue
FROM metric_windows;

-- (a) Elevated heart rate at rest: the heart-rate window joined with the same user's steps window.
-- A LEFT join because a user who took no steps sends no steps readings at all, and that is the
-- most restful case; a missing steps window counts as 0 steps. The alert id is derived from what
-- it is about, so a repeated alert carries the same id.
INSERT INTO alerts_sink
SELECT
  CONCAT('elevated_resting_heart_rate:', hr.userId, ':', DATE_FORMAT(hr.window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')),
  hr.userId,
  'elevated_resting_heart_rate',
  DATE_FORMAT(hr.window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  CONCAT(
    'Average heart rate ', CAST(CAST(ROUND(hr.avgValue, 0) AS BIGINT) AS STRING),
    ' bpm (above ${HR_REST_BPM}) with ', CAST(CAST(COALESCE(st.sumValue, 0) AS BIGINT) AS STRING),
    ' steps (at most ${REST_STEPS_MAX}) in ${WINDOW_SECONDS} s'
  ),
  ROW(
    DATE_FORMAT(hr.window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    DATE_FORMAT(hr.window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    hr.avgValue,
    CAST(${HR_REST_BPM} AS DOUBLE),
    COALESCE(st.sumValue, CAST(0 AS DOUBLE)),
    CAST(${REST_STEPS_MAX} AS DOUBLE),
    CAST(NULL AS DOUBLE),
    CAST(NULL AS DOUBLE),
    CAST(NULL AS DOUBLE)
  )
FROM (SELECT * FROM metric_windows WHERE metric = 'heart_rate') AS hr
LEFT JOIN (SELECT * FROM metric_windows WHERE metric = 'steps') AS st
  ON hr.userId = st.userId AND hr.window_start = st.window_start AND hr.window_end = st.window_end
WHERE hr.avgValue > ${HR_REST_BPM}
  AND COALESCE(st.sumValue, 0) <= ${REST_STEPS_MAX};

-- (b) Low blood oxygen: any SpO2 sample in the window below the threshold, one alert per window.
INSERT INTO alerts_sink
SELECT
  CONCAT('low_spo2:', userId, ':', DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')),
  userId,
  'low_spo2',
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  CONCAT(
    'SpO2 fell to ', CAST(minValue AS STRING), '% (below ${SPO2_MIN}%) in ${WINDOW_SECONDS} s'
  ),
  ROW(
    DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
    CAST(NULL AS DOUBLE),
    CAST(NULL AS DOUBLE),
    CAST(NULL AS DOUBLE),
    CAST(NULL AS DOUBLE),
    minValue,
    avgValue,
    CAST(${SPO2_MIN} AS DOUBLE)
  )
FROM metric_windows
WHERE metric = 'spo2' AND minValue < ${SPO2_MIN};

END;
