/** A plain node:http route served beside GraphQL (GraphiQL assets, probes, /metrics). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void;
}
