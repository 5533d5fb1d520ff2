/**
 * Gateway and worker processes started the way they run in production (`tsx src/gateway/main.ts`,
 * `tsx src/consumer/main.ts`), for the scale-out test and benchmark: free ports, readiness through
 * their /readyz endpoints, a clean SIGTERM stop by pid, and the tail of stderr when one fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayNodeFlags, profileNodeFlags, workerNodeFlags } from './production.js';

/** A port the OS reports free right now (the process started on it binds it shortly after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  name: string;
  pid: number;
  port: number;
  /** The process's HTTP base, e.g. http://127.0.0.1:4123 (the gateway, or a worker's ops endpoints). */
  base: string;
  stop(): Promise<void>;
  /** Last lines the process wrote to stderr (its warnings and errors). */
  stderrTail(): string;
}

export interface StartOptions {
  name: string;
  script: 'src/gateway/main.ts' | 'src/consumer/main.ts';
  port: number;
  env: Record<string, string>;
  readyTimeoutMs?: number;
}

export async function startService(options: StartOptions): Promise<ServiceProcess> {
  const gateway = options.script === 'src/gateway/main.ts';
  const portVar = gateway ? 'PORT' : 'CONSUMER_METRICS_PORT';
  const flags = gateway ? gatewayNodeFlags : workerNodeFlags;
  const child: ChildProcess = spawn('node_modules/.bin/tsx', [...flags, ...profileNodeFlags, options.script], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...options.env, [portVar]: String(options.port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  });
  const base = `http://127.0.0.1:${options.port}`;
  const proc: ServiceProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    port: options.port,
    base,
    stderrTail: () => tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${options.name} exited with ${child.exitCode} before it was ready:\n${tail}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`${options.name} not ready on ${base} in time:\n${tail}`);
    }
    await sleep(200);
  }
}

/** One sample of a Prometheus text exposition: the sum over every series of `name`. */
export async function scrape(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) {
      sum += Number(m[3]);
      seen = true;
    }
  }
  return seen ? sum : Number.NaN;
}

/**
 * CPU time (user + system, every thread) used so far by a process and its descendants, in ms,
 * from /proc (Linux; USER_HZ 100). A service started by startService is the tsx launcher and the
 * node process under it: both are counted. Processes that ended are not.
 */
export function processTreeCpuMs(pid: number): number {
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop()!;
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * 10;
      for (const child of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) {
        if (child) pending.push(Number(child));
      }
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
