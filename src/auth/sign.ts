/**
 * Mints tokens this gateway accepts, for tests and local use (`npm run auth:token`). Production
 * tokens come from the identity provider; this only needs the HS256 secret or a private key.
 */
import { SignJWT, type CryptoKey, type KeyObject } from 'jose';
import type { Role } from './principal.js';

export interface TokenClaims {
  sub: string;
  roles: Role[] | string[];
  users?: string[];
  /** Lifetime in seconds from now (negative: already expired). Default 3600. */
  expiresInSeconds?: number;
  issuer?: string;
  audience?: string;
}

export async function signToken(
  claims: TokenClaims,
  key: { secret: string } | { privateKey: CryptoKey | KeyObject; alg: 'RS256' | 'ES256'; kid?: string },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { roles: claims.roles };
  if (claims.users) payload['users'] = claims.users;
  const alg = 'secret' in key ? 'HS256' : key.alg;
  let jwt = new SignJWT(payload)
    .setProtectedHeader({ alg, ...('kid' in key && key.kid ? { kid: key.kid } : {}) })
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresInSeconds ?? 3600));
  if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt = jwt.setAudience(claims.audience);
  return jwt.sign('secret' in key ? new TextEncoder().encode(key.secret) : key.privateKey);
}
