/**
 * The `health` query: asks each backing service a real question, in parallel, each bounded by a
 * timeout, and never throws: a service that is down is reported with ok=false and a readable detail.
 */
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

export function createHealthService(checks: HealthCheck[], timeoutMs = 3000): HealthService {
  async function run(c: HealthCheck): Promise<ServiceHealthResult> {
    const started = performance.now();
    const ctrl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      const detail = await Promise.race([
        c.check(ctrl.signal),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            ctrl.abort();
            reject(new Error(`no answer within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
      return { name: c.name, ok: true, latencyMs: performance.now() - started, detail: detail ?? null };
    } catch (err) {
      return { name: c.name, ok: false, latencyMs: performance.now() - started, detail: describe(err) };
    } finally {
      clearTimeout(timer);
    }
  }
  return { check: () => Promise.all(checks.map(run)) };
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = (err as { code?: unknown }).code ?? (cause as { code?: unknown } | undefined)?.code;
    if (code === 'ECONNREFUSED') return 'connection refused';
    return err.message || err.name;
  }
  return String(err);
}
