/**
 * Process plumbing for the local stack: start a service detached with its output in a log file,
 * remember its pid, find it again, stop it. Only processes recorded here are ever signalled, and
 * a recorded pid is trusted only while its command line still carries the stack's marker, so a
 * recycled pid never gets killed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Paths {
  root: string;
  run: string;
  logs: string;
  dist: string;
  data: string;
}

export function stackPaths(root: string, dist: string = join(root, 'dist')): Paths {
  const paths = {
    root,
    run: join(root, 'run'),
    logs: join(root, 'logs'),
    dist,
    data: join(root, 'data'),
  };
  for (const p of Object.values(paths)) mkdirSync(p, { recursive: true });
  return paths;
}

/**
 * The marker each started process carries on its command line: for a JVM the system property
 * `-Dfitbit.stack=<name>`; other programs carry `fitbit.stack=<name>` in some argument of their own.
 */
export const marker = (name: string): string => `-Dfitbit.stack=${name}`;
const markerText = (name: string): string => `fitbit.stack=${name}`;

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Run as this user and group (a root stack starts Postgres as `postgres`: initdb refuses root). */
  uid?: number;
  gid?: number;
}

export function logFile(paths: Paths, name: string): string {
  return join(paths.logs, `${name}.log`);
}

function pidFile(paths: Paths, name: string): string {
  return join(paths.run, `${name}.pid`);
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** The pid of a running process this stack started under `name`, or undefined. */
export function runningPid(paths: Paths, name: string): number | undefined {
  const file = pidFile(paths, name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmd = cmdline(pid);
  if (cmd === undefined || !cmd.includes(markerText(name))) return undefined;
  // A zombie still has a /proc entry; treat it as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/**
 * Starts a detached process whose stdout and stderr go to `logs/<name>.log`, and records its pid.
 * The caller's args must contain `marker(name)` (for a JVM, as a system property).
 */
export function spawnDetached(paths: Paths, opts: SpawnOptions): number {
  if (!opts.args.some((a) => a.endsWith(markerText(opts.name)))) {
    throw new Error(`spawnDetached(${opts.name}): args must carry ${marker(opts.name)}`);
  }
  const out = openSync(logFile(paths, opts.name), 'a');
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ['ignore', out, out],
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${opts.name} (${opts.command})`);
  child.unref();
  writeFileSync(pidFile(paths, opts.name), String(child.pid));
  return child.pid;
}

/** SIGTERM, then SIGKILL after `graceMs`. Returns true when something was stopped. */
export async function stopProcess(paths: Paths, name: string, graceMs = 20_000): Promise<boolean> {
  const pid = runningPid(paths, name);
  rmSync(pidFile(paths, name), { force: true });
  if (pid === undefined) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (cmdline(pid) === undefined) return true;
    await sleep(200);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  return true;
}

export function tail(file: string, lines = 40): string {
  if (!existsSync(file)) return '(no log file)';
  const all = readFileSync(file, 'utf8').split('\n');
  return all.slice(-lines).join('\n');
}

export class ServiceStartError extends Error {
  constructor(service: string, reason: string, log: string) {
    super(`${service} did not start: ${reason}\n--- last lines of ${log} ---\n${tail(log)}`);
    this.name = 'ServiceStartError';
  }
}

/**
 * Polls `probe` until it resolves. Fails early when the process under `name` has died, and after
 * `timeoutMs` with the last probe error; both failures carry the tail of the service's log.
 */
export async function waitUntilReady(
  paths: Paths,
  name: string,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  processNames: string[] = [name],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      await probe();
      return;
    } catch (err) {
      last = err;
    }
    const dead = processNames.find((p) => runningPid(paths, p) === undefined);
    if (dead !== undefined) {
      throw new ServiceStartError(name, `process ${dead} exited`, logFile(paths, dead));
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? last.message : String(last);
      throw new ServiceStartError(name, `no answer after ${timeoutMs} ms (${reason})`, logFile(paths, name));
    }
    await sleep(500);
  }
}
