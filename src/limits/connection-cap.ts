/**
 * Open WebSocket connections per subject: the one limit that belongs to a transport rather than to
 * an operation (src/gateway/ws-server.ts asks it on `connection_init` and tells it on close). The
 * limits on operations, subscriptions included, are the operation pipeline's (src/operation).
 */
import { CloseCode } from 'graphql-ws';
import { ErrorCode } from '../errors.js';
import type { Principal } from '../auth/principal.js';

export interface ConnectionCap {
  /** After authentication: may refuse the connection with a close code. */
  connected(principal: Principal | undefined): { ok: true } | { ok: false; closeCode: number; reason: string };
  /** The connection closed after `connected` let it in. */
  closed(principal: Principal | undefined): void;
  /** Open connections per subject (the development principal is not counted). */
  connectionsBySubject(): ReadonlyMap<string, number>;
}

/** `maxPerSubject` 0 or less: no limit. */
export function createConnectionCap(maxPerSubject: number): ConnectionCap {
  const connections = new Map<string, number>();
  const counted = (p: Principal | undefined): p is Principal => maxPerSubject > 0 && p !== undefined && !p.development;

  return {
    connected(principal) {
      if (!counted(principal)) return { ok: true };
      const n = connections.get(principal.subject) ?? 0;
      if (n >= maxPerSubject) {
        // graphql-ws's Forbidden; the reason carries this limit's code for the client.
        return {
          ok: false,
          closeCode: CloseCode.Forbidden,
          reason: `${ErrorCode.TOO_MANY_CONNECTIONS}: at most ${maxPerSubject} per subject`,
        };
      }
      connections.set(principal.subject, n + 1);
      return { ok: true };
    },
    closed(principal) {
      if (!counted(principal)) return;
      const n = (connections.get(principal.subject) ?? 1) - 1;
      if (n <= 0) connections.delete(principal.subject);
      else connections.set(principal.subject, n);
    },
    connectionsBySubject: () => connections,
  };
}
