-- The lakehouse tier (docs/lake.md). Three parts:
--
-- 1. Iceberg's JDBC catalog tables, in `public` whatever the search path: Trino's `lake` catalog
--    keeps the pointer to each Iceberg table's current metadata file here (one row per table,
--    swapped atomically on every commit). Their shape is Iceberg's (JdbcUtil, schema V1).
--
-- 2. The tiering ledger. The lake holds every reading with `lake_from <= time < tiered_until`,
--    except the hours listed in lake_dirty_hours, whose lake copy is stale until the tierer
--    rewrites them. Readers (src/trino/lake-plan.ts) read the lake for that range minus the
--    dirty hours and the hot store for everything else.
--    `tiering_from` and `tiering_until` are the range the tierer is copying or has copied: they
--    widen first, then (after a barrier, see src/lake/tierer.ts) the copy is taken, then
--    `lake_from`/`tiered_until` follow. A reading written into the wider range after the barrier
--    marks its hour dirty (below), so the copy can never miss it.
--
-- 3. Triggers that mark an hour dirty when readings inside the tiering range are inserted (a late
--    reading), deleted (an erasure) or updated. Statement level with transition tables: one
--    extra statement per worker batch, whatever its size; the ledger's range is read once.
CREATE TABLE IF NOT EXISTS public.iceberg_tables (
  catalog_name               varchar(255)  NOT NULL,
  table_namespace            varchar(255)  NOT NULL,
  table_name                 varchar(255)  NOT NULL,
  metadata_location          varchar(1000),
  previous_metadata_location varchar(1000),
  iceberg_type               varchar(5),
  PRIMARY KEY (catalog_name, table_namespace, table_name)
);

CREATE TABLE IF NOT EXISTS public.iceberg_namespace_properties (
  catalog_name   varchar(255)  NOT NULL,
  namespace      varchar(255)  NOT NULL,
  property_key   varchar(255)  NOT NULL,
  property_value varchar(1000),
  PRIMARY KEY (catalog_name, namespace, property_key)
);

-- One row. All four bounds are whole hours (UTC); NULL until the tierer first runs.
CREATE TABLE IF NOT EXISTS lake_state (
  id            boolean     PRIMARY KEY DEFAULT true CHECK (id),
  tiering_from  timestamptz,
  tiering_until timestamptz,
  lake_from     timestamptz,
  tiered_until  timestamptz,
  -- When the tierer last finished a cycle (freshness in pipelineStatus).
  tiered_at     timestamptz
);
INSERT INTO lake_state (id) VALUES (true) ON CONFLICT (id) DO NOTHING;

-- `generation` grows with every statement that touches the hour again, so the tierer removes the
-- mark only if nothing changed the hour while it was being rewritten. `dirty_since` is when the
-- hour became dirty (not updated later): the tierer waits until every query planned before that
-- moment is over before it touches the hour's lake copy.
CREATE TABLE IF NOT EXISTS lake_dirty_hours (
  hour        timestamptz PRIMARY KEY,
  generation  bigint      NOT NULL DEFAULT 1,
  dirty_since timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION lake_mark_dirty(hours timestamptz[]) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO lake_dirty_hours AS d (hour)
  SELECT h FROM unnest(hours) AS h, lake_state s
  WHERE s.id AND h >= s.tiering_from AND h < s.tiering_until
  ORDER BY h
  ON CONFLICT (hour) DO UPDATE SET generation = d.generation + 1;
$$;

CREATE OR REPLACE FUNCTION lake_dirty_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lake_mark_dirty(ARRAY(
    SELECT DISTINCT date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '1970-01-01 00:00:00+00') FROM new_rows));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION lake_dirty_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lake_mark_dirty(ARRAY(
    SELECT DISTINCT date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '1970-01-01 00:00:00+00') FROM old_rows));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION lake_dirty_after_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lake_mark_dirty(ARRAY(
    SELECT date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '1970-01-01 00:00:00+00') FROM old_rows
    UNION
    SELECT date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '1970-01-01 00:00:00+00') FROM new_rows));
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS readings_lake_dirty_insert ON readings;
CREATE TRIGGER readings_lake_dirty_insert AFTER INSERT ON readings
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lake_dirty_after_insert();
DROP TRIGGER IF EXISTS readings_lake_dirty_delete ON readings;
CREATE TRIGGER readings_lake_dirty_delete AFTER DELETE ON readings
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION lake_dirty_after_delete();
DROP TRIGGER IF EXISTS readings_lake_dirty_update ON readings;
CREATE TRIGGER readings_lake_dirty_update AFTER UPDATE ON readings
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lake_dirty_after_update();
