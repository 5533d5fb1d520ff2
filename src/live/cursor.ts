/**
 * Cursors of live events (docs/live.md): where on an output topic an event sits, so that a client
 * can ask for everything after it. A cursor is opaque to clients but not secret: it is the position
 * (partition -> offset) in base64url JSON plus an HMAC over the position and the topic's name. The
 * MAC makes it tamper-evident (an edited offset or a cursor of another deployment's topic is
 * refused with INVALID_CURSOR); it grants nothing, since every resumed subscription is authorised
 * again like a new one.
 *
 * One user's events are on one partition (the job keys its output by userId), so a cursor of a
 * user's window or alert holds one partition. A cursor of everyone's alerts holds every partition:
 * the position of the alert itself and how far each other partition had been read when it was
 * delivered.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError, ErrorCode } from '../errors.js';

export type CursorKind = 'window' | 'alert';

export interface CursorPosition {
  kind: CursorKind;
  /** The user the event belongs to; null for a cursor of everyone's alerts. */
  userId: string | null;
  /** Partition -> offset of the last event the client has. */
  offsets: ReadonlyMap<number, number>;
}

/** Longest cursor accepted before any decoding: a 64-partition vector fits well inside. */
const MAX_CURSOR_CHARS = 4096;
const MAC_BYTES = 16;
const KIND_TAG: Record<CursorKind, string> = { window: 'w', alert: 'a' };

export interface CursorCodec {
  encode(position: CursorPosition): string;
  /** Throws INVALID_CURSOR for anything this deployment did not issue for `kind`. */
  decode(cursor: string, kind: CursorKind): CursorPosition;
}

/** `topics` are the topics of each kind: a cursor is valid for the topic it was issued on only. */
export function createCursorCodec(secret: string, topics: Record<CursorKind, string>): CursorCodec {
  const mac = (kind: CursorKind, payload: string): Buffer =>
    createHmac('sha256', secret).update(`${topics[kind]}\u0000${payload}`).digest().subarray(0, MAC_BYTES);

  const invalid = (why: string): AppError =>
    new AppError(ErrorCode.INVALID_CURSOR, `after: not a cursor of this subscription (${why})`);

  return {
    encode({ kind, userId, offsets }) {
      const pairs = [...offsets].sort((a, b) => a[0] - b[0]);
      const payload = Buffer.from(JSON.stringify([1, KIND_TAG[kind], userId, pairs])).toString('base64url');
      return `${payload}.${mac(kind, payload).toString('base64url')}`;
    },
    decode(cursor, kind) {
      if (cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS) throw invalid('length');
      const dot = cursor.indexOf('.');
      if (dot <= 0) throw invalid('format');
      const payload = cursor.slice(0, dot);
      const given = Buffer.from(cursor.slice(dot + 1), 'base64url');
      const expected = mac(kind, payload);
      // A cursor of the other kind, of another topic or edited in any byte fails here.
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('signature');
      let body: unknown;
      try {
        body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        throw invalid('payload');
      }
      if (!Array.isArray(body) || body[0] !== 1 || body[1] !== KIND_TAG[kind]) throw invalid('version');
      const [, , userId, pairs] = body as [number, string, unknown, unknown];
      if (userId !== null && typeof userId !== 'string') throw invalid('payload');
      if (!Array.isArray(pairs) || pairs.length === 0) throw invalid('payload');
      const offsets = new Map<number, number>();
      for (const pair of pairs) {
        if (!Array.isArray(pair) || pair.length !== 2) throw invalid('payload');
        const [p, o] = pair as unknown[];
        if (!Number.isSafeInteger(p) || !Number.isSafeInteger(o) || (p as number) < 0 || (o as number) < -1)
          throw invalid('payload');
        offsets.set(p as number, o as number);
      }
      return { kind, userId, offsets };
    },
  };
}
