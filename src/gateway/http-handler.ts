/**
 * A small node:http integration for Apollo Server: body limit, JSON parsing, and the routes the
 * gateway serves beside GraphQL. Apollo's CSRF prevention stays on (GET operations need a
 * preflight header such as `apollo-require-preflight`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { ErrorCode } from '../errors.js';

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void;
}

export interface HttpHandlerOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  context: (req: IncomingMessage) => Promise<TContext>;
  maxBodyBytes: number;
  graphqlPath: string;
  routes: Route[];
  /** Serves GraphiQL for GET `graphqlPath` with Accept: text/html, when set. */
  graphiqlHtml?: (() => string) | undefined;
  onError: (err: unknown) => void;
}

function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createHttpHandler<TContext extends BaseContext>(opts: HttpHandlerOptions<TContext>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = (req.method ?? 'GET').toUpperCase();
      const route = opts.routes.find((r) => r.path === url.pathname && r.method === method);
      if (route) return await route.handle(req, res);
      if (url.pathname !== opts.graphqlPath)
        return sendJsonError(res, 404, 'NOT_FOUND', `no route for ${method} ${url.pathname}`);

      if (method === 'GET' && opts.graphiqlHtml && (req.headers.accept ?? '').includes('text/html') && !url.search) {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(opts.graphiqlHtml());
        return;
      }

      let body: unknown;
      if (method === 'POST') {
        let text: string;
        try {
          text = await readBody(req, opts.maxBodyBytes);
        } catch (err) {
          if (err instanceof BodyTooLarge) {
            return sendJsonError(
              res,
              413,
              ErrorCode.PAYLOAD_TOO_LARGE,
              `request body over the limit of ${opts.maxBodyBytes} bytes`,
            );
          }
          throw err;
        }
        const type = req.headers['content-type'] ?? '';
        if (type.includes('application/json') || type.includes('application/graphql-response+json')) {
          try {
            body = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            return sendJsonError(res, 400, ErrorCode.BAD_USER_INPUT, 'request body is not valid JSON');
          }
        } else {
          body = text;
        }
      }

      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      const response = await opts.apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method, headers, search: url.search, body },
        context: () => opts.context(req),
      });
      for (const [key, value] of response.headers) res.setHeader(key, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'complete') {
        res.end(response.body.string);
        return;
      }
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    } catch (err) {
      opts.onError(err);
      if (!res.headersSent) sendJsonError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Unexpected error.');
      else res.end();
    }
  };
}
