/**
 * `GET /users/{userId}/export?from=&to=`: the user's readings as NDJSON, one reading v1 object per
 * line (docs/contracts.md), oldest first, streamed page by page (src/timescale/export.service.ts)
 * with the socket's back-pressure, so the gateway's memory stays at one page whatever the size.
 *
 * Access: the caller authenticates like on /graphql and needs the rule of `Query.readings` for
 * that user (src/auth/policy.ts), so whoever may read a user's readings may download them.
 * Refusals before the first byte are JSON errors with a code and a status. A failure after the
 * first byte can no longer change the status: the response is cut off without its final chunk,
 * which every HTTP client reports as an incomplete transfer (never as a complete file).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import { ruleFor } from '../auth/policy.js';
import { EARLIEST_INSTANT_MS, parseRfc3339 } from '../domain/reading.js';
import { AppError, ErrorCode } from '../errors.js';
import { parseRequestTarget } from '../http/request-target.js';
import type { Logger } from '../logger.js';
import type { ExportService } from '../timescale/export.service.js';
import { checkUserId } from '../timescale/series.range.js';
import { sendAppError, type Route } from '../http/http-handler.js';
import { refusalStatus } from '../auth/authorize-operation.js';
import { withHttpStatus } from '../limits/index.js';

export const EXPORT_PATH = /^\/users\/([^/]+)\/export$/;

export interface ExportRouteOptions {
  exports: ExportService;
  /** The gateway's HTTP authentication (throws a coded AppError with its HTTP status). */
  authenticate: (req: IncomingMessage) => Promise<Principal>;
  logger: Logger;
  now?: () => number;
}

/** A refusal before the first byte, with the status the GraphQL endpoint gives the same code. */
function send(res: ServerResponse, err: AppError): void {
  const hasStatus = (err.extensions as { http?: unknown }).http !== undefined;
  sendAppError(res, hasStatus ? err : withHttpStatus(err, refusalStatus(err)));
}

function instant(params: URLSearchParams, name: 'from' | 'to', fallback: number): Date {
  const raw = params.get(name);
  if (raw === null || raw === '') return new Date(fallback);
  const ms = parseRfc3339(raw);
  if (Number.isNaN(ms)) {
    throw new AppError(ErrorCode.INVALID_TIME, `${name}: expected an RFC 3339 date-time such as 2026-01-01T00:00:00Z`);
  }
  return new Date(ms);
}

/** One reading v1 object; optional fields left out when absent. */
function line(r: {
  eventId: string | null;
  userId: string;
  metric: string;
  time: Date;
  value: number;
  deviceId: string | null;
}): string {
  const out: Record<string, unknown> = {};
  if (r.eventId !== null) out['eventId'] = r.eventId;
  out['userId'] = r.userId;
  out['metric'] = r.metric;
  out['time'] = r.time.toISOString();
  out['value'] = r.value;
  if (r.deviceId !== null) out['deviceId'] = r.deviceId;
  return JSON.stringify(out);
}

/** Resolves when the socket takes more, or is gone; leaves no listener behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export function createExportRoute(opts: ExportRouteOptions): Route {
  const now = opts.now ?? Date.now;
  return {
    method: 'GET',
    path: '/users/',
    pattern: EXPORT_PATH,
    async handle(req, res) {
      const url = parseRequestTarget(req.url)!;
      const params = new URLSearchParams(url.search);
      let userId: string;
      let from: Date;
      let to: Date;
      try {
        const principal = await opts.authenticate(req);
        userId = checkUserId(decodeURIComponent(EXPORT_PATH.exec(url.pathname)?.[1] ?? ''));
        ruleFor('Query.readings')(principal, { userId });
        from = instant(params, 'from', EARLIEST_INSTANT_MS);
        // By default up to what may be stored: readings may be stamped up to 5 minutes ahead.
        to = instant(params, 'to', now() + 10 * 60_000);
        if (from.getTime() >= to.getTime()) {
          throw new AppError(ErrorCode.INVALID_RANGE, 'expected from before to');
        }
      } catch (err) {
        if (err instanceof AppError) return send(res, err);
        if (err instanceof URIError)
          return send(res, new AppError(ErrorCode.INVALID_USER_ID, 'userId: not valid percent-encoding'));
        throw err;
      }

      const pages = opts.exports.pages(userId, from, to);
      let first: IteratorResult<Awaited<ReturnType<typeof pages.next>>['value']>;
      try {
        first = await pages.next();
      } catch (err) {
        if (err instanceof AppError) return send(res, err);
        throw err;
      }
      res.statusCode = 200;
      res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="${userId}-readings.ndjson"`);
      res.setHeader('cache-control', 'no-store');
      let lines = 0;
      try {
        for (let step = first; !step.done; step = await pages.next()) {
          if (res.destroyed) break; // the client went away: stop reading the database
          const chunk = step.value.map(line).join('\n') + '\n';
          lines += step.value.length;
          if (!res.write(chunk)) await drained(res);
        }
        res.end();
        opts.logger.info({ userId, lines }, 'export sent');
      } catch (err) {
        await pages.return(undefined).catch(() => undefined);
        opts.logger.warn({ err, userId, lines }, 'export failed after its first byte; response cut off');
        res.destroy();
      }
    },
  };
}
