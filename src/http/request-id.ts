/**
 * The request id that follows one operation from the HTTP request through the Kafka headers of
 * the readings it produced to the worker's logs and the DLQ. A caller's `x-request-id` is kept when
 * it looks like an id; anything else (too long, control characters, several values) is replaced,
 * because it ends up in log lines, response headers and Kafka headers.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
/** The Kafka header the gateway sets on every produced reading (src/ingest/reading.publisher.ts). */
export const KAFKA_REQUEST_ID_HEADER = 'request-id';

const ACCEPTABLE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

const assigned = new WeakMap<object, string>();

/** The request's id: the same value every time it is asked for the same request. */
export function requestIdOf(req: Pick<IncomingMessage, 'headers'>): string {
  let id = assigned.get(req);
  if (id === undefined) {
    const given = req.headers[REQUEST_ID_HEADER];
    id = typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
    assigned.set(req, id);
  }
  return id;
}
