/**
 * The seam where a WebSocket connection's credentials are checked. graphql-ws hands over the
 * `connection_init` payload (e.g. `{ "authorization": "Bearer ..." }`) once per connection; what
 * this returns is stored on the connection and put into every operation's context.
 *
 * For now every connection is accepted and the credential is only carried along; verifying it
 * (and refusing with close code 4403) belongs to the authentication work.
 */
import type { Principal } from './principal.js';

export interface ConnectionCredentials {
  /** The raw `authorization` value from `connection_init` (or the upgrade request's header). */
  authorization: string | undefined;
  /** Who the credential proved to be (src/auth); set by the authenticating check. */
  principal?: Principal | undefined;
}

/** A refusal may name its close code (e.g. 4401 Unauthorized); without one graphql-ws closes with 4403. */
export type ConnectionCheck =
  { ok: true; credentials: ConnectionCredentials } | { ok: false; reason: string; closeCode?: number };

export type ConnectionAuthenticator = (
  params: Readonly<Record<string, unknown>> | undefined,
  upgradeHeaders: Readonly<Record<string, string | string[] | undefined>>,
) => Promise<ConnectionCheck> | ConnectionCheck;

/** Reads the credential from `connection_init` (either casing), falling back to the upgrade header. */
export function readAuthorization(
  params: Readonly<Record<string, unknown>> | undefined,
  upgradeHeaders: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const fromParams = params?.['authorization'] ?? params?.['Authorization'];
  if (typeof fromParams === 'string' && fromParams.length > 0) return fromParams;
  const header = upgradeHeaders['authorization'];
  return typeof header === 'string' && header.length > 0 ? header : undefined;
}

export const acceptAllConnections: ConnectionAuthenticator = (params, headers) => ({
  ok: true,
  credentials: { authorization: readAuthorization(params, headers) },
});
