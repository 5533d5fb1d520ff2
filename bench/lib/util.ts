/** Small helpers shared by the benchmarks: run ids, waiting on conditions, simple statistics. */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, round } from './report.js';

/** A short id unique to one benchmark run: names its topics, groups, jobs and users. */
export const runId = (): string => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/** Polls `check` until it returns something other than undefined; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length === 0 ? Number.NaN : s.reduce((a, b) => a + b, 0) / s.length;
  return {
    n: s.length,
    p50: round(percentile(s, 50)),
    p90: round(percentile(s, 90)),
    p99: round(percentile(s, 99)),
    max: round(s.at(-1) ?? Number.NaN),
    mean: round(mean),
  };
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two points. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** Runs `fn` once per tick so that `perSecond` items go out per second, measured against the wall clock. */
export async function paced(
  perSecond: number,
  seconds: number,
  fn: (count: number) => Promise<void>,
  options: { tickMs?: number; signal?: AbortSignal } = {},
): Promise<{ sent: number; elapsedMs: number }> {
  const tickMs = options.tickMs ?? 20;
  const started = performance.now();
  const end = started + seconds * 1000;
  let sent = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end || options.signal?.aborted) break;
    const due = Math.floor(((now - started) / 1000) * perSecond) - sent;
    if (due > 0) {
      await fn(due);
      sent += due;
    }
    const wait = tickMs - (performance.now() - now);
    if (wait > 0) await sleep(wait);
  }
  return { sent, elapsedMs: performance.now() - started };
}
