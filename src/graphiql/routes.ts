/**
 * GraphiQL for browsers at GET /graphql (Accept: text/html), with its script and stylesheet at
 * /graphiql/app.js and /graphiql/app.css, served from this process (no CDN: users may be offline).
 * Only mounted when config.gateway.graphiql is on (development by default; off in production).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { Route } from '../gateway/http-handler.js';
import { loadGraphiqlAssets, type GraphiqlAssets } from './bundle.js';

export const GRAPHIQL_ASSET_PREFIX = '/graphiql';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · Fitbit gateway</title>
<link rel="stylesheet" href="${GRAPHIQL_ASSET_PREFIX}/app.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="${GRAPHIQL_ASSET_PREFIX}/app.js" defer></script>
</body>
</html>
`;

export interface Graphiql {
  html(): string;
  routes: Route[];
}

export function createGraphiql(logger: Logger, load: () => Promise<GraphiqlAssets> = loadGraphiqlAssets): Graphiql {
  let assets: Promise<GraphiqlAssets & { etag: string }> | undefined;
  const get = () => {
    assets ??= load()
      .then((a) => {
        logger.info({ jsBytes: a.js.length, cssBytes: a.css.length }, 'GraphiQL assets ready');
        return { ...a, etag: `"${createHash('sha1').update(a.js).update(a.css).digest('base64url')}"` };
      })
      .catch((err: unknown) => {
        assets = undefined; // try again on the next request
        throw err;
      });
    return assets;
  };

  const serve = (kind: 'js' | 'css') => async (req: IncomingMessage, res: ServerResponse) => {
    let a: Awaited<ReturnType<typeof get>>;
    try {
      a = await get();
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'GraphiQL assets unavailable');
      res.statusCode = 503;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end((err as Error).message);
      return;
    }
    res.setHeader('etag', a.etag);
    res.setHeader('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === a.etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('content-type', kind === 'js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
    res.end(a[kind]);
  };

  return {
    html: () => PAGE,
    routes: [
      { method: 'GET', path: `${GRAPHIQL_ASSET_PREFIX}/app.js`, handle: serve('js') },
      { method: 'GET', path: `${GRAPHIQL_ASSET_PREFIX}/app.css`, handle: serve('css') },
    ],
  };
}
