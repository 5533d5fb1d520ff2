/**
 * Turns a raw credential (HTTP `authorization` header, graphql-ws `connection_init` payload) into
 * a Principal, according to AUTH_MODE:
 *
 * - required: a valid bearer JWT or UNAUTHENTICATED.
 * - development: no token acts as an admin (logged at start and on first use). With key material
 *   configured a token that is sent is still verified, so role tests run in this mode too; without
 *   key material a token cannot be checked and is ignored.
 */
import { CloseCode } from 'graphql-ws';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { AppError } from '../errors.js';
import { readAuthorization, type ConnectionAuthenticator } from './connection-auth.js';
import { developmentPrincipal, type Principal } from './principal.js';
import { createTokenVerifier, loadVerifyKey, type TokenVerifier } from './verifier.js';

export interface Authenticator {
  readonly mode: Config['auth']['mode'];
  /** Throws an AppError with code UNAUTHENTICATED. */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /** For graphql-ws: refuses with close code 4401 Unauthorized. */
  connection: ConnectionAuthenticator;
}

export function createAuthenticator(config: Pick<Config, 'auth'>, logger: Logger): Authenticator {
  const log = logger.child({ component: 'auth' });
  const key = loadVerifyKey(config.auth);
  const verifier: TokenVerifier | undefined = key ? createTokenVerifier(config.auth, key) : undefined;
  const mode = config.auth.mode;
  if (mode === 'development') {
    log.warn(
      { authMode: mode, keyMaterial: key?.kind ?? 'none' },
      'AUTH_MODE=development: requests WITHOUT a token act as ADMIN. Never expose this process; set AUTH_MODE=required and key material for anything shared.',
    );
  } else {
    log.info({ authMode: mode, keyMaterial: key?.kind, algorithms: key?.algorithms }, 'authentication required');
  }

  let developmentUseLogged = false;
  const asDevelopment = (ignoredToken: boolean): Principal => {
    if (!developmentUseLogged) {
      developmentUseLogged = true;
      log.warn(
        { ignoredToken },
        'development mode: an unauthenticated caller is acting as admin (logged once per process)',
      );
    }
    return developmentPrincipal;
  };

  const authenticate = async (authorization: string | undefined): Promise<Principal> => {
    if (mode === 'development') {
      if (authorization === undefined || !verifier) return asDevelopment(authorization !== undefined);
      return verifier.verify(authorization);
    }
    if (authorization === undefined)
      throw new AppError('UNAUTHENTICATED', 'authentication required: send "authorization: Bearer <JWT>"', {
        details: { reason: 'missing' },
      });
    return verifier!.verify(authorization);
  };

  return {
    mode,
    authenticate,
    connection: async (params, headers) => {
      const authorization = readAuthorization(params, headers);
      try {
        const principal = await authenticate(authorization);
        return { ok: true, credentials: { authorization, principal } };
      } catch (err) {
        const message = err instanceof AppError ? err.message : 'authentication failed';
        return { ok: false, reason: message, closeCode: CloseCode.Unauthorized };
      }
    },
  };
}
