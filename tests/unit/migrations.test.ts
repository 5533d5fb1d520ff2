/** Which SQL runs with and without TimescaleDB: the plan is pure, so it is checked here without a database. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, planMigrations } from '../../src/timescale/migrations.js';

describe('planMigrations', () => {
  const files = readdirSync(MIGRATIONS_DIR);
  const sql = (file: string) => readFileSync(join(MIGRATIONS_DIR, file), 'utf8');

  it('plain Postgres: the shared table, then the plain layout (indexes, no hypertable)', () => {
    const plan = planMigrations(files, 'plain');
    expect(plan.map((m) => m.file)).toEqual([
      '001_readings.sql',
      '002_readings_layout.plain.sql',
      '003_readings_minute.plain.sql',
      '004_live_history.sql',
      '005_erasures.sql',
      '006_lake.sql',
    ]);
    const all = plan.map((m) => sql(m.file)).join('\n');
    expect(all).toMatch(/PRIMARY KEY \(user_id, metric, time\)/);
    expect(all).toMatch(/CREATE INDEX IF NOT EXISTS readings_time_brin/);
    expect(all).not.toMatch(/create_hypertable|timescaledb/i);
  });

  it('TimescaleDB: the same table as a hypertable with a compression policy', () => {
    const plan = planMigrations(files, 'timescale');
    expect(plan.map((m) => m.file)).toEqual([
      '001_readings.sql',
      '002_readings_layout.timescale.sql',
      '003_readings_minute.timescale.sql',
      '004_live_history.sql',
      '005_erasures.sql',
      '006_lake.sql',
    ]);
    const layout = sql(plan[1]!.file);
    expect(layout).toMatch(/create_hypertable\('readings'/);
    expect(layout).toMatch(/add_compression_policy\('readings'/);
    expect(layout).toMatch(/compress_segmentby = 'user_id, metric'/);
  });

  it('per-minute rollup: a trigger-kept table on plain Postgres, a real-time continuous aggregate on TimescaleDB', () => {
    const plain = sql('003_readings_minute.plain.sql');
    expect(plain).toMatch(/PRIMARY KEY \(user_id, metric, minute\)/);
    for (const event of ['INSERT', 'DELETE', 'UPDATE', 'TRUNCATE'])
      expect(plain).toMatch(new RegExp(`AFTER ${event} ON readings`));
    expect(plain).toMatch(/REFERENCING NEW TABLE AS new_rows/);
    expect(plain).toMatch(/REFERENCING OLD TABLE AS old_rows/);
    expect(plain).not.toMatch(/timescaledb|time_bucket/i);
    const ts = sql('003_readings_minute.timescale.sql');
    expect(ts).toMatch(/CREATE MATERIALIZED VIEW IF NOT EXISTS readings_minute/);
    expect(ts).toMatch(/timescaledb\.continuous, timescaledb\.materialized_only = false/);
    expect(ts).toMatch(/WITH NO DATA/); // a continuous aggregate cannot be filled inside the migration's transaction
    expect(ts).toMatch(/add_continuous_aggregate_policy\('readings_minute'/);
    expect(ts).not.toMatch(/CREATE TRIGGER/);
  });

  it('orders by number, ignores other files, and refuses a shared file beside a variant', () => {
    expect(
      planMigrations(['010_b.sql', 'README.md', '002_a.plain.sql', '002_a.timescale.sql'], 'plain').map((m) => m.id),
    ).toEqual(['002_a', '010_b']);
    expect(() => planMigrations(['003_x.sql', '003_x.plain.sql'], 'plain')).toThrow(/both a shared and a plain file/);
  });
});
