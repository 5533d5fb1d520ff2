/**
 * Per-subject token buckets, in memory and per process (N gateway instances allow N times the
 * rate; docs/security.md). A request takes one token; the bucket refills at `ratePerSecond` up to
 * `burst`. Full buckets are forgotten, so memory follows the subjects active in the last few
 * seconds, not every subject ever seen.
 */
import { HeaderMap } from '@apollo/server';
import { AppError, ErrorCode } from '../errors.js';

export interface RateDecision {
  ok: boolean;
  /** Whole seconds until a token is available (when refused). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.ratePerSecond > 0 && this.burst > 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  take(subject: string, cost = 1): RateDecision {
    if (!this.enabled) return { ok: true, retryAfterSeconds: 0 };
    const now = this.now();
    this.sweep(now);
    const b = this.buckets.get(subject) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    this.buckets.set(subject, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true, retryAfterSeconds: 0 };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - b.tokens) / this.ratePerSecond)) };
  }

  /** Drops buckets that have refilled completely: they are the same as no bucket. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 10_000 || this.buckets.size < 1000) return;
    this.lastSweep = now;
    const fullAfterMs = (this.burst / this.ratePerSecond) * 1000;
    for (const [subject, b] of this.buckets) if (now - b.at >= fullAfterMs) this.buckets.delete(subject);
  }
}

/** RATE_LIMITED with `retryAfter` (seconds); over HTTP status 429 and a Retry-After header. */
export function rateLimitedError(retryAfterSeconds: number, http: boolean): AppError {
  return new AppError(ErrorCode.RATE_LIMITED, `too many requests; retry after ${retryAfterSeconds} s`, {
    retriable: true,
    details: {
      retryAfter: retryAfterSeconds,
      ...(http ? { http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) } } : {}),
    },
  });
}
