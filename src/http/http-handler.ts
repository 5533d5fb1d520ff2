/**
 * A small node:http integration for Apollo Server: the request target read without throwing,
 * authentication before the body is read, body limit, JSON parsing, and the routes the gateway
 * serves beside GraphQL. Apollo's CSRF prevention stays on (GET operations need a preflight header
 * such as `apollo-require-preflight`).
 *
 * Order matters for what an unauthenticated client can make the gateway do: a request that fails
 * authentication (or its rate) is answered from its headers alone, before its body is read or any
 * GraphQL is parsed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { AppError, ErrorCode } from '../errors.js';
import { parseRequestTarget } from './request-target.js';

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  /** Matches every path under `path` (which then ends with '/'), e.g. /users/{id}. */
  prefix?: boolean;
  /** Matches the paths this pattern accepts (`path` then only names the route). */
  pattern?: RegExp;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void;
}

export interface HttpHandlerOptions<TContext extends BaseContext, TPrincipal> {
  apollo: ApolloServer<TContext>;
  /**
   * Who is calling, from the request's headers, before its body is read. Throws an AppError whose
   * `http` extension (see withHttpStatus) gives the status and headers of the refusal.
   */
  authenticate: (req: IncomingMessage) => Promise<TPrincipal>;
  context: (req: IncomingMessage, principal: TPrincipal) => Promise<TContext> | TContext;
  maxBodyBytes: number;
  graphqlPath: string;
  routes: Route[];
  /** Serves GraphiQL for GET `graphqlPath` with Accept: text/html, when set. */
  graphiqlHtml?: (() => string) | undefined;
  /** An error no response could explain; `clientGone` when the client aborted (routine, not a fault). */
  onError: (err: unknown, clientGone: boolean) => void;
}

function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/** A refusal coded as AppError: its `http` extension (withHttpStatus) gives status and headers. */
export function sendAppError(res: ServerResponse, err: AppError): void {
  const { http, ...extensions } = err.extensions as { http?: { status?: number; headers?: HeaderMap } };
  res.statusCode = http?.status ?? 400;
  for (const [key, value] of http?.headers ?? []) res.setHeader(key, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ errors: [{ message: err.message, extensions }] }));
}

class BodyTooLarge extends Error {}

/** How long the rest of an oversized body is read and thrown away so that the 413 reaches the client. */
const DISCARD_MS = 2_000;

/**
 * Stops keeping a body that will not be used (over the limit, or sent by a caller that failed
 * authentication), and reads the rest into nothing until it ends, for at most DISCARD_MS. A socket
 * closed with unread data in it is reset (TCP RST): a client still sending would see that reset
 * instead of the answer. So the connection stays open while the rest arrives (and can be reused
 * after); a client that keeps sending past the deadline is cut off.
 */
function discardRest(req: IncomingMessage): void {
  req.removeAllListeners('data');
  req.resume();
  const timer = setTimeout(() => req.destroy(), DISCARD_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The client went away mid-request: nothing to answer, and nothing wrong with the gateway. */
function isClientAbort(err: unknown, req: IncomingMessage): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    req.destroyed ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    (err instanceof Error && err.message === 'aborted')
  );
}

export function createHttpHandler<TContext extends BaseContext, TPrincipal>(
  opts: HttpHandlerOptions<TContext, TPrincipal>,
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = parseRequestTarget(req.url);
      if (!url) return sendJsonError(res, 400, ErrorCode.BAD_USER_INPUT, 'the request target is not a URL path');
      const method = (req.method ?? 'GET').toUpperCase();
      const route = opts.routes.find(
        (r) =>
          r.method === method &&
          (r.pattern
            ? r.pattern.test(url.pathname)
            : r.prefix
              ? url.pathname.startsWith(r.path)
              : r.path === url.pathname),
      );
      if (route) return await route.handle(req, res);
      if (url.pathname !== opts.graphqlPath)
        return sendJsonError(res, 404, 'NOT_FOUND', `no route for ${method} ${url.pathname.slice(0, 100)}`);

      if (method === 'GET' && opts.graphiqlHtml && (req.headers.accept ?? '').includes('text/html') && !url.search) {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(opts.graphiqlHtml());
        return;
      }

      let principal: TPrincipal;
      try {
        principal = await opts.authenticate(req);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        if (method === 'POST') discardRest(req);
        return sendAppError(res, err);
      }

      let body: unknown;
      if (method === 'POST') {
        let text: string;
        try {
          text = await readBody(req, opts.maxBodyBytes);
        } catch (err) {
          if (err instanceof BodyTooLarge) {
            discardRest(req);
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
        context: async () => opts.context(req, principal),
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
      const clientGone = isClientAbort(err, req);
      opts.onError(err, clientGone);
      if (clientGone) return void res.destroy();
      if (!res.headersSent) sendJsonError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Unexpected error.');
      else res.end();
    }
  };
}
