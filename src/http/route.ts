/** A plain node:http route served beside GraphQL (GraphiQL assets, probes, /metrics). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Route {
  method: 'GET' | 'POST';
  /** The path, or for a `pattern` route its template (the metrics' route label). */
  path: string;
  /** Matches paths with parameters (e.g. `/users/{userId}/export`); `path` alone matches exactly. */
  pattern?: RegExp;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void;
}
