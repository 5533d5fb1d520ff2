/**
 * GraphiQL for browsers at GET /graphql (Accept: text/html), with its script and stylesheet at
 * /graphiql/app.js and /graphiql/app.css, served from this process (no CDN: users may be offline).
 * Only mounted when config.gateway.graphiql is on (development by default; off in production).
 */
import type { Logger } from '../logger.js';
import type { Route } from '../http/http-handler.js';
import { assetRoutes, type WebAssets } from '../web/assets.js';
import { loadGraphiqlAssets } from './bundle.js';

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

export function createGraphiql(logger: Logger, load: () => Promise<WebAssets> = loadGraphiqlAssets): Graphiql {
  return { html: () => PAGE, routes: assetRoutes(GRAPHIQL_ASSET_PREFIX, 'GraphiQL', load, logger) };
}
