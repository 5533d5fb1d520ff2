/**
 * `GET /users/{userId}/export?from=&to=`: the user's readings as NDJSON (src/timescale/export.service.ts),
 * under the same access rule as reading that user's data (src/auth/policy.ts `mayRead`): the user
 * themself or an admin. `from` and `to` are optional RFC 3339 instants, `from` inclusive, `to` exclusive.
 *
 * Errors before the first byte are JSON with the API's codes and an HTTP status; a failure in the
 * middle of the stream aborts the response (the chunked body never ends cleanly), so a client
 * never mistakes a cut export for a whole one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mayRead } from '../auth/policy.js';
import type { Authenticator } from '../auth/authenticator.js';
import { parseRfc3339 } from '../domain/reading.js';
import { AppError, ErrorCode } from '../errors.js';
import type { Limits } from '../limits/index.js';
import type { Logger } from '../logger.js';
import type { ExportService } from '../timescale/export.service.js';
import type { Route } from '../http/route.js';

export const EXPORT_PATH = /^\/users\/([^/]+)\/export$/;

const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.DATABASE_UNAVAILABLE]: 503,
};

function sendError(res: ServerResponse, err: AppError): void {
  const { http: _http, ...extensions } = err.extensions as Record<string, unknown>;
  res.statusCode = STATUS[err.code] ?? 400;
  if (res.statusCode === 401) res.setHeader('www-authenticate', 'Bearer');
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ errors: [{ message: err.message, extensions }] }));
}

function instant(url: URL, name: 'from' | 'to'): Date | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return undefined;
  const ms = parseRfc3339(text);
  if (Number.isNaN(ms)) throw new AppError(ErrorCode.INVALID_RANGE, `${name}: expected an RFC 3339 date-time with an offset or Z`);
  return new Date(ms);
}

export function createExportRoute(deps: {
  auth: Authenticator;
  limits: Pick<Limits, 'takeHttpRequest'>;
  exports: ExportService;
  logger: Logger;
}): Route {
  const log = deps.logger.child({ part: 'export' });
  return {
    method: 'GET',
    path: '/users/{userId}/export',
    pattern: EXPORT_PATH,
    async handle(req: IncomingMessage, res: ServerResponse) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let userId: string;
      let range: { from: Date | undefined; to: Date | undefined };
      try {
        userId = decodeURIComponent(EXPORT_PATH.exec(url.pathname)?.[1] ?? '');
        const principal = await deps.auth.authenticate(req.headers.authorization);
        deps.limits.takeHttpRequest(principal);
        range = { from: instant(url, 'from'), to: instant(url, 'to') };
        deps.exports.check(userId, range);
        if (!mayRead(principal, userId)) throw new AppError(ErrorCode.FORBIDDEN, 'userId: may only export your own data');
      } catch (err) {
        if (err instanceof AppError) return sendError(res, err);
        if (err instanceof URIError) return sendError(res, new AppError(ErrorCode.INVALID_USER_ID, 'userId: bad percent-encoding'));
        throw err;
      }
      res.statusCode = 200;
      res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="${userId}-readings.ndjson"`);
      res.setHeader('cache-control', 'no-store');
      const started = Date.now();
      try {
        const bytes = await deps.exports.exportReadings(userId, range, res);
        log.info({ userId, bytes, ms: Date.now() - started }, 'export streamed');
      } catch (err) {
        if (!res.headersSent && err instanceof AppError) return sendError(res, err);
        log.warn({ userId, err: (err as Error).message }, 'export aborted');
        res.destroy();
      }
    },
  };
}
