/**
 * The `health` query: asks each backing service a real question, in parallel, each bounded by a
 * timeout, and never throws: a service that is down is reported with ok=false and a readable detail.
 *
 * One probe serves every caller of the moment: a check that is running is joined, and its answer
 * is reused for `reuseMs`. Thirty aliased `health` fields in one request, or a hundred monitors
 * polling at once, cost the backends one question each, not one per field.
 */
import { networkErrorCode } from '../errors.js';

export interface ServiceHealthResult {
  name: string;
  ok: boolean;
  latencyMs: number | null;
  detail: string | null;
}

export interface HealthCheck {
  name: string;
  /** Resolves with an optional detail when healthy; rejects with a readable reason otherwise. */
  check(signal: AbortSignal): Promise<string | void>;
}

export interface HealthService {
  check(): Promise<ServiceHealthResult[]>;
}

export interface HealthServiceOptions {
  /** Bound on each check. Default 3000 ms. */
  timeoutMs?: number;
  /** How long a finished probe's answer is handed out again. Default 1000 ms. */
  reuseMs?: number;
  now?: () => number;
}

export function createHealthService(checks: HealthCheck[], options: HealthServiceOptions = {}): HealthService {
  const timeoutMs = options.timeoutMs ?? 3000;
  const reuseMs = options.reuseMs ?? 1000;
  const now = options.now ?? Date.now;
  async function run(c: HealthCheck): Promise<ServiceHealthResult> {
    const started = performance.now();
    // One deadline cancels the check's own calls (fetch, a query) and ends the wait for a check
    // that does not listen to its signal.
    const signal = AbortSignal.timeout(timeoutMs);
    const timedOut = new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true }),
    );
    try {
      const detail = await Promise.race([c.check(signal), timedOut]);
      return { name: c.name, ok: true, latencyMs: performance.now() - started, detail: detail ?? null };
    } catch (err) {
      return { name: c.name, ok: false, latencyMs: performance.now() - started, detail: describe(err) };
    }
  }
  let running: Promise<ServiceHealthResult[]> | undefined;
  let last: { at: number; results: ServiceHealthResult[] } | undefined;
  return {
    check() {
      if (last && now() - last.at < reuseMs) return Promise.resolve(last.results);
      running ??= Promise.all(checks.map(run)).then((results) => {
        last = { at: now(), results };
        running = undefined;
        return results;
      });
      return running;
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  if (err instanceof Error) {
    if (networkErrorCode(err) === 'ECONNREFUSED') return 'connection refused';
    return err.message || err.name;
  }
  return String(err);
}
