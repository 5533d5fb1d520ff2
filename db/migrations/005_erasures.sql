-- The erasure ledger (docs/privacy.md): one row per eraseUserData call, written in the same
-- transaction as the deletes, so a user is never half-erased without a record of it. It holds no
-- data of the user: the id, when, and which principal asked.
--
-- The consumer worker and the history writer consult it inside their INSERT statements: a message
-- of a user whose erasure is later than the message's Kafka append timestamp is not stored, so a
-- replay of the topics (a new consumer group, a reset offset) cannot bring erased data back, while
-- what the user sends after the erasure is stored as usual. Several rows per user are allowed (the
-- user came back and asked again); the latest decides.
CREATE TABLE IF NOT EXISTS erasures (
  user_id      text        NOT NULL,
  erased_at    timestamptz NOT NULL,
  requested_by text        NOT NULL,
  PRIMARY KEY (user_id, erased_at)
);
