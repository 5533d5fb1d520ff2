/**
 * The dashboard, served by the gateway: an HTML shell at `/`, `/pipeline` and `/users/{id}`, and
 * its script and stylesheet at /dashboard/app.js and /dashboard/app.css, built from the npm
 * packages (React, uPlot, the graphql-ws client) like GraphiQL's (src/web/assets.ts). The page
 * holds no data; every panel asks the gateway's GraphQL API, under the caller's token and role.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { Route } from '../gateway/http-handler.js';
import { assetRoutes, loadAssets, type WebApp, type WebAssets } from '../web/assets.js';

export const DASHBOARD_ASSET_PREFIX = '/dashboard';

export const DASHBOARD_APP: WebApp = {
  name: 'dashboard',
  entry: join(import.meta.dirname, 'client', 'main.ts'),
  prebuiltDir: join(import.meta.dirname, '..', '..', 'dist', 'dashboard'),
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dashboard · Fitbit gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${DASHBOARD_ASSET_PREFIX}/app.css">
</head>
<body>
<div id="dashboard"></div>
<script src="${DASHBOARD_ASSET_PREFIX}/app.js" defer></script>
</body>
</html>
`;

function servePage(_req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.end(PAGE);
}

export function createDashboard(
  logger: Logger,
  load: () => Promise<WebAssets> = () => loadAssets(DASHBOARD_APP, 'npm run dashboard:build'),
): Route[] {
  return [
    { method: 'GET', path: '/', handle: servePage },
    { method: 'GET', path: '/pipeline', handle: servePage },
    { method: 'GET', path: '/users/', prefix: true, handle: servePage },
    ...assetRoutes(DASHBOARD_ASSET_PREFIX, 'dashboard', load, logger),
  ];
}
