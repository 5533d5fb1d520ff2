/**
 * Shared pieces of the fault tests (tests/faults): the gateway and the consumer worker as real
 * child processes that can be killed with any signal, the stack's own services restarted and
 * timed, and a record of what each client request saw.
 *
 * Children run as `node --import tsx <script>` rather than through the `tsx` launcher: the
 * launcher forwards signals to a second node process, so a SIGKILL sent to it would leave the
 * real worker running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bringUp, createStackContext } from '../../stack/lib/context.js';
import type { ServiceDefinition, StackContext } from '../../stack/lib/service.js';
import { freePort } from '../../bench/lib/processes.js';

export { freePort };

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly base: string;
  /** Sends the signal (if still running) and resolves once the process has exited. */
  kill(signal: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** The last 4 000 characters the process wrote to stdout and stderr. */
  output(): string;
}

export interface ChildOptions {
  name: string;
  script: 'src/gateway/main.ts' | 'src/consumer/main.ts';
  /** The port the process listens on: PORT for the gateway, CONSUMER_METRICS_PORT for a worker. */
  port: number;
  env: Record<string, string>;
  readyTimeoutMs?: number;
}

/** Starts the process and resolves once its /readyz answers 200. */
export async function startChild(options: ChildOptions): Promise<Child> {
  const portVar = options.script === 'src/gateway/main.ts' ? 'PORT' : 'CONSUMER_METRICS_PORT';
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', options.script], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...options.env, [portVar]: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-4000);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once('exit', (code, signal) => r({ code, signal })),
  );
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const base = `http://127.0.0.1:${options.port}`;
  const child: Child = {
    name: options.name,
    pid: proc.pid ?? -1,
    port: options.port,
    base,
    running,
    output: () => out,
    async kill(signal, timeoutMs = 30_000) {
      if (running()) proc.kill(signal);
      const timer = setTimeout(() => running() && proc.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!running()) throw new Error(`${options.name} exited before it was ready:\n${out}`);
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await child.kill('SIGKILL');
      throw new Error(`${options.name} not ready on ${base} within ${options.readyTimeoutMs ?? 60_000} ms:\n${out}`);
    }
    await sleep(100);
  }
}

/** The stack context for stopping and starting the stack's own services; quiet unless asked. */
export function faultStackContext(): StackContext {
  return createStackContext(() => undefined);
}

/**
 * Starts `service` again if it is not running and waits until it answers. Used in afterAll, so a
 * failed test never leaves the shared stack down; a failure here is reported, not swallowed.
 */
export async function restore(ctx: StackContext, service: ServiceDefinition): Promise<number> {
  return bringUp(ctx, service);
}

/** What one client request saw. */
export type Outcome =
  | { kind: 'ok'; ms: number }
  /** A GraphQL error with a code (HTTP 200 or 4xx/5xx with a JSON body). */
  | { kind: 'error'; ms: number; status: number; code: string }
  /** No HTTP answer: connection refused or reset. */
  | { kind: 'network'; ms: number; cause: string }
  /** No answer within the client's bound: a hang. */
  | { kind: 'timeout'; ms: number };

/** The error code (or errno) behind a failed fetch, e.g. ECONNREFUSED, UND_ERR_SOCKET. */
export function networkCause(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Counts outcomes by a label: ok, a GraphQL code, a network cause, or timeout. */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    const key =
      o.kind === 'ok'
        ? 'ok'
        : o.kind === 'error'
          ? `${o.status} ${o.code}`
          : o.kind === 'network'
            ? o.cause
            : 'timeout';
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
