/**
 * Migrations live in db/migrations as `NNN_name.sql`, or as a pair `NNN_name.plain.sql` /
 * `NNN_name.timescale.sql` where the layout differs with and without the TimescaleDB extension.
 * `planMigrations` is pure (unit-tested); `migrate` applies the plan once per database, under an
 * advisory lock so that several processes starting together apply each migration once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

export interface Migration {
  id: string;
  file: string;
}

export type Flavour = 'plain' | 'timescale';

const NAME = /^(\d{3}_[a-z0-9_]+?)(?:\.(plain|timescale))?\.sql$/;

export function planMigrations(files: string[], flavour: Flavour): Migration[] {
  const byId = new Map<string, Migration>();
  for (const file of [...files].sort()) {
    const m = NAME.exec(file);
    if (!m?.[1]) continue;
    const variant = m[2] as Flavour | undefined;
    if (variant !== undefined && variant !== flavour) continue;
    if (byId.has(m[1])) throw new Error(`migration ${m[1]} has both a shared and a ${flavour} file`);
    byId.set(m[1], { id: m[1], file });
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export async function detectFlavour(client: pg.ClientBase): Promise<Flavour> {
  const installed = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'");
  if (installed.rowCount) return 'timescale';
  // Available but not yet created (and preloaded): create it, else fall back to plain Postgres.
  const available = await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (!available.rowCount) return 'plain';
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    return 'timescale';
  } catch {
    return 'plain';
  }
}

const LOCK_KEY = 727_001; // any constant; shared by every process of this project

export const MIGRATIONS_DIR = join(import.meta.dirname, '..', '..', 'db', 'migrations');

export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<{ flavour: Flavour; applied: string[] }> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const flavour = await detectFlavour(client);
    const done = new Set(
      (await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id),
    );
    const applied: string[] = [];
    for (const m of planMigrations(readdirSync(dir), flavour)) {
      if (done.has(m.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(readFileSync(join(dir, m.file), 'utf8'));
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
        await client.query('COMMIT');
        applied.push(m.id);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.file} failed: ${(err as Error).message}`);
      }
    }
    return { flavour, applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
