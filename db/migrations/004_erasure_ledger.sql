-- Erasure of a user's data (docs/privacy.md, src/privacy/).
--
-- erasure_ledger: for every erased user and every partition of the ingestion topic, the offset
-- the partition had reached when the user was erased. A message of that user below that offset
-- was sent before the erasure: the worker's INSERT skips it (src/timescale/readings.insert.ts), so
-- a replay, a new consumer group or a restored offset never stores it again. Messages at or after
-- the offset were sent after the erasure and are stored normally. A second erasure of the same
-- user moves the offsets forward.
CREATE TABLE IF NOT EXISTS erasure_ledger (
  user_id       text        NOT NULL,
  topic         text        NOT NULL,
  partition     int         NOT NULL,
  before_offset bigint      NOT NULL,
  erased_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, topic, partition)
);

-- erasures: one row per erasure, what was removed from each store (the answer of eraseUserData).
CREATE TABLE IF NOT EXISTS erasures (
  user_id      text        NOT NULL,
  erased_at    timestamptz NOT NULL DEFAULT now(),
  requested_by text        NOT NULL,
  removed      jsonb       NOT NULL,
  PRIMARY KEY (user_id, erased_at)
);
