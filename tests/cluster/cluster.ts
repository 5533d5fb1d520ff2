/**
 * The cluster profile of the local stack for the files in tests/cluster (the vitest project sets
 * STACK_PROFILE=cluster, so every helper that reads the configuration talks to the cluster).
 * `useCluster()` brings every service up (idempotent; a minute or two the first time), applies the
 * migrations to the cluster's own database and, when it
 * had to start anything, leaves a note so that the run's teardown stops the cluster again. A
 * cluster someone started by hand stays up.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bringUp, createStackContext } from '../../stack/lib/context.js';
import { runningPid } from '../../stack/lib/process.js';
import type { StackContext } from '../../stack/lib/service.js';
import pg from 'pg';
import { migrate } from '../../src/timescale/migrations.js';
import { services } from '../../stack/services/index.js';

/** Written into the cluster's run/ folder when the tests started it. */
export const STARTED_BY_TESTS = 'started-by-tests';

export function clusterContext(log: (m: string) => void = () => undefined): StackContext {
  const ctx = createStackContext(log);
  if (ctx.config.stack.profile !== 'cluster') {
    throw new Error('tests/cluster need STACK_PROFILE=cluster (the vitest project "cluster" sets it)');
  }
  return ctx;
}

export async function useCluster(): Promise<StackContext> {
  const ctx = clusterContext((m) => console.log(`[cluster] ${m}`));
  const down = services.some((s) => s.processes(ctx).some((p) => runningPid(ctx.paths, p) === undefined));
  const note = join(ctx.paths.run, STARTED_BY_TESTS);
  if (down && !existsSync(note)) {
    // Only when something this stack starts as a process was down; the machine's own Postgres counts as up.
    const ours = services.some((s) => s.name !== 'postgres' && s.processes(ctx).length > 0);
    if (ours) writeFileSync(note, new Date().toISOString());
  }
  const started = Date.now();
  const results = await Promise.allSettled(services.map((s) => bringUp(ctx, s)));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
  if (failed.length > 0) throw new Error(`the cluster is not up:\n${failed.join('\n')}`);
  if (down) console.log(`[cluster] up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The private Postgres starts empty; the files seed and read tables before any worker has run.
  const pool = new pg.Pool({ connectionString: ctx.config.postgres.url, max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return ctx;
}
