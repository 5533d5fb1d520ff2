/**
 * Who is calling, as established once per HTTP request or WebSocket connection. Every access
 * decision (src/auth/policy.ts) reads only this.
 */
export const ROLES = ['device', 'user', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

export interface Principal {
  /** The token's `sub`: a user id for `user`, a device id for `device`, a service name otherwise. */
  subject: string;
  roles: ReadonlySet<Role>;
  /** For `device`: the user ids (besides its own subject) it may ingest for. */
  users: readonly string[];
  /** Token expiry in epoch ms; undefined for tokens without `exp` and for the development principal. */
  expiresAt: number | undefined;
  /**
   * The development-mode stand-in for a caller without a token. Acts as an admin; per-subject
   * limits (rate, connections) do not apply to it, so local tests and benchmarks are not throttled.
   */
  development: boolean;
}

export const DEVELOPMENT_SUBJECT = 'development-admin';

export const developmentPrincipal: Principal = Object.freeze({
  subject: DEVELOPMENT_SUBJECT,
  roles: new Set<Role>(['admin']),
  users: [],
  expiresAt: undefined,
  development: true,
});

export const hasRole = (p: Principal, role: Role): boolean => p.roles.has(role);
