/**
 * Bearer JWT verification with `jose`. The key comes from configuration: an HS256 secret, a PEM
 * public key (RS256 or ES256, chosen by the key's type), or a local JWKS file (the token's `kid`
 * picks the key). Only the algorithms that key can verify are accepted, so an HS256 token signed
 * with a public key as its "secret" is refused.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError, type Config } from '../config.js';
import { AppError, ErrorCode } from '../errors.js';
import { isRole, type Principal, type Role } from './principal.js';
import { USER_ID_PATTERN } from '../domain/reading.js';

export type VerifyKey =
  | { kind: 'secret'; key: Uint8Array; algorithms: string[] }
  | { kind: 'public'; key: KeyObject; algorithms: string[] }
  | { kind: 'jwks'; key: JWTVerifyGetKey; algorithms: string[] };

/** Reads the configured key material; undefined when none is configured. Throws ConfigError on unreadable keys. */
export function loadVerifyKey(auth: Config['auth']): VerifyKey | undefined {
  if (auth.jwtSecret) return { kind: 'secret', key: new TextEncoder().encode(auth.jwtSecret), algorithms: ['HS256'] };
  if (auth.publicKeyFile) {
    let key: KeyObject;
    try {
      key = createPublicKey(readFileSync(auth.publicKeyFile, 'utf8'));
    } catch (err) {
      throw new ConfigError([`AUTH_JWT_PUBLIC_KEY_FILE: expected a PEM public key (${(err as Error).message})`]);
    }
    const type = key.asymmetricKeyType;
    if (type === 'rsa') return { kind: 'public', key, algorithms: ['RS256'] };
    if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
      return { kind: 'public', key, algorithms: ['ES256'] };
    throw new ConfigError([
      `AUTH_JWT_PUBLIC_KEY_FILE: expected an RSA or P-256 EC key for RS256/ES256, got ${type ?? 'unknown'}`,
    ]);
  }
  if (auth.jwksFile) {
    try {
      const jwks = JSON.parse(readFileSync(auth.jwksFile, 'utf8')) as Parameters<typeof createLocalJWKSet>[0];
      if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error('no "keys" array');
      return { kind: 'jwks', key: createLocalJWKSet(jwks), algorithms: ['RS256', 'ES256'] };
    } catch (err) {
      throw new ConfigError([`AUTH_JWKS_FILE: expected a JSON Web Key Set (${(err as Error).message})`]);
    }
  }
  return undefined;
}

const unauthenticated = (message: string, reason: string): AppError =>
  new AppError(ErrorCode.UNAUTHENTICATED, message, { details: { reason } });

/** Reads `Bearer <token>`; anything else is a malformed credential. */
export function bearerToken(authorization: string): string {
  const m = /^Bearer\s+([A-Za-z0-9_\-.=+/]+)\s*$/i.exec(authorization);
  if (!m?.[1]) throw unauthenticated('authorization: expected "Bearer <JWT>"', 'malformed');
  return m[1];
}

export interface ClaimRules {
  /** Seconds of clock skew allowed between the issuer and this gateway. */
  clockToleranceSeconds: number;
  /** A token without `exp` is refused (it would be valid forever). */
  requireExp: boolean;
  /** A token issued in the future (beyond the tolerance) is accepted. */
  acceptFutureIat: boolean;
}

const DEFAULT_CLAIM_RULES: ClaimRules = { clockToleranceSeconds: 0, requireExp: false, acceptFutureIat: true };

/**
 * The claims this API reads, checked; a token that names no usable role is refused. The
 * principal's `expiresAt` includes the clock tolerance, so a token jose accepted is not refused
 * later in the same request as expired (that would answer 200 with UNAUTHENTICATED, not 401).
 */
export function principalFromClaims(
  payload: JWTPayload,
  rules: ClaimRules = DEFAULT_CLAIM_RULES,
  nowMs = Date.now(),
): Principal {
  const toleranceMs = rules.clockToleranceSeconds * 1000;
  if (rules.requireExp && typeof payload.exp !== 'number')
    throw unauthenticated('token: expected an `exp` claim (tokens without one are refused)', 'claims');
  if (!rules.acceptFutureIat && typeof payload.iat === 'number' && payload.iat * 1000 > nowMs + toleranceMs)
    throw unauthenticated('token: `iat` is in the future', 'claims');
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256)
    throw unauthenticated('token: expected a `sub` claim', 'claims');
  const rawRoles = payload['roles'];
  if (!Array.isArray(rawRoles)) throw unauthenticated('token: expected a `roles` array claim', 'claims');
  const roles = new Set<Role>(rawRoles.filter(isRole));
  if (roles.size === 0) throw unauthenticated('token: `roles` names none of device, user, analyst, admin', 'claims');
  const rawUsers = payload['users'] ?? [];
  if (
    !Array.isArray(rawUsers) ||
    !rawUsers.every((u) => typeof u === 'string' && USER_ID_PATTERN.test(u)) ||
    rawUsers.length > 10_000
  ) {
    throw unauthenticated('token: `users` must be an array of user ids', 'claims');
  }
  return {
    subject: sub,
    roles,
    users: rawUsers as string[],
    expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 + toleranceMs : undefined,
    development: false,
  };
}

export interface TokenVerifier {
  verify(authorization: string): Promise<Principal>;
}

/** Verified tokens kept per process (see `createTokenVerifier`); the oldest goes first when full. */
export const TOKEN_CACHE_ENTRIES = 1024;
/** Longer tokens (a device token can list thousands of users) are verified every time, never kept. */
export const TOKEN_CACHE_MAX_CHARS = 8192;
/** A kept token is verified again at least this often, even without `exp`. */
export const TOKEN_CACHE_TTL_MS = 5 * 60_000;

export interface TokenVerifierOptions {
  /** Entries of the verified-token cache; 0 verifies every request. Default TOKEN_CACHE_ENTRIES. */
  cacheEntries?: number;
  now?: () => number;
}

/**
 * Verifies bearer tokens. A client sends the same token with every request until it expires, and
 * checking its signature (jose, WebCrypto) was the largest part of a small read's CPU, so tokens
 * that verified are kept, keyed by the exact token string (header, claims and signature: the same
 * string verifies the same way with the same key and options), until their `exp` or
 * TOKEN_CACHE_TTL_MS, whichever is first. Failures are not kept. The result is the same as
 * verifying every time: a kept token is dropped when its `expiresAt` (exp plus the clock
 * tolerance, as jose accepts it) passes.
 */
export function createTokenVerifier(
  auth: Config['auth'],
  key: VerifyKey,
  opts: TokenVerifierOptions = {},
): TokenVerifier {
  const options = {
    algorithms: key.algorithms,
    clockTolerance: auth.clockToleranceSeconds,
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
  };
  const claimRules: ClaimRules = {
    clockToleranceSeconds: auth.clockToleranceSeconds,
    requireExp: auth.requireExp,
    acceptFutureIat: auth.acceptFutureIat,
  };
  const capacity = opts.cacheEntries ?? TOKEN_CACHE_ENTRIES;
  const now = opts.now ?? Date.now;
  const verified = new Map<string, { principal: Principal; until: number }>();

  const verifyToken = async (token: string): Promise<Principal> => {
    let payload: JWTPayload;
    try {
      // Three overloads (secret, KeyObject, key set); the union needs one call per kind.
      payload =
        key.kind === 'jwks'
          ? (await jwtVerify(token, key.key, options)).payload
          : (await jwtVerify(token, key.key, options)).payload;
    } catch (err) {
      throw toUnauthenticated(err);
    }
    return principalFromClaims(payload, claimRules, now());
  };

  return {
    async verify(authorization) {
      const token = bearerToken(authorization);
      if (capacity <= 0 || token.length > TOKEN_CACHE_MAX_CHARS) return verifyToken(token);
      const t = now();
      const hit = verified.get(token);
      if (hit) {
        if (t < hit.until) return hit.principal;
        verified.delete(token);
      }
      const principal = await verifyToken(token);
      const until = Math.min(principal.expiresAt ?? Number.POSITIVE_INFINITY, t + TOKEN_CACHE_TTL_MS);
      if (t < until) {
        if (verified.size >= capacity) verified.delete(verified.keys().next().value!);
        verified.set(token, { principal, until });
      }
      return principal;
    },
  };
}

/** jose's error classes to a client-safe message; never echoes the token. */
function toUnauthenticated(err: unknown): AppError {
  if (err instanceof joseErrors.JWTExpired) return unauthenticated('token expired', 'expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed)
    return unauthenticated(`token: claim ${err.claim} is not valid (${err.reason})`, 'claims');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return unauthenticated('token signature does not verify', 'signature');
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return unauthenticated('token algorithm not accepted', 'algorithm');
  if (err instanceof joseErrors.JWKSNoMatchingKey)
    return unauthenticated('token key id matches no configured key', 'key');
  if (err instanceof joseErrors.JOSEError) return unauthenticated('token is not a valid JWT', 'malformed');
  return unauthenticated('token could not be verified', 'malformed');
}
