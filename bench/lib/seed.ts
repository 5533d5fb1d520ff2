/** Seeding readings with COPY for the read benchmarks: compact, deterministic, bounded. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export interface SeedSpec {
  /** Every user id starts with this; cleanup deletes by it. */
  prefix: string;
  users: number;
  metric: string;
  startMs: number;
  stepMs: number;
  perUser: number;
}

export const seedUserId = (spec: Pick<SeedSpec, 'prefix'>, i: number): string =>
  `${spec.prefix}${String(i).padStart(5, '0')}`;

/** Rows already under the prefix; when it equals users x perUser the set is reused as it is. */
export async function seededRows(pool: pg.Pool, prefix: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE user_id LIKE $1', [
    `${prefix}%`,
  ]);
  return rows[0]!.n;
}

export async function deleteSeeded(pool: pg.Pool, prefix: string): Promise<number> {
  const res = await pool.query('DELETE FROM readings WHERE user_id LIKE $1', [`${prefix}%`]);
  return res.rowCount ?? 0;
}

/**
 * users x perUser rows of a seeded random walk through COPY, in 10,000-row chunks. Returns the
 * milliseconds spent, or 0 when the set was already there.
 */
export async function seedReadings(pool: pg.Pool, spec: SeedSpec): Promise<number> {
  const total = spec.users * spec.perUser;
  if ((await seededRows(pool, spec.prefix)) === total) return 0;
  await deleteSeeded(pool, spec.prefix);
  const started = Date.now();
  const client = await pool.connect();
  try {
    let user = 0;
    let step = 0;
    let v = 70;
    let s = 12345 + spec.users;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const source = new Readable({
      read() {
        if (user >= spec.users) return void this.push(null);
        const lines: string[] = [];
        for (let k = 0; k < 10_000 && user < spec.users; k += 1) {
          v = Math.min(180, Math.max(45, v + (rnd() - 0.5) * 4));
          lines.push(
            `${seedUserId(spec, user)},${spec.metric},${new Date(spec.startMs + step * spec.stepMs).toISOString()},${v.toFixed(1)},bench\n`,
          );
          step += 1;
          if (step === spec.perUser) {
            step = 0;
            user += 1;
            v = 60 + rnd() * 30;
          }
        }
        this.push(lines.join(''));
      },
    });
    await pipeline(
      source,
      client.query(copyFrom('COPY readings (user_id, metric, time, value, device_id) FROM STDIN WITH (FORMAT csv)')),
    );
    await client.query('ANALYZE readings');
  } finally {
    client.release();
  }
  return Date.now() - started;
}
