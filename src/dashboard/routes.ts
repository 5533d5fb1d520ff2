/**
 * The dashboard, served by the gateway: an HTML shell at `/`, `/pipeline` and `/users/{id}`, and
 * its script and stylesheet at /dashboard/app.js and /dashboard/app.css, built from the npm
 * packages (React, uPlot, the graphql-ws client) like GraphiQL's (src/web/assets.ts). The page
 * holds no data; every panel asks the gateway's GraphQL API, under the caller's token and role.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { Route } from '../http/http-handler.js';
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

export interface DashboardOptions {
  /**
   * Build the assets now, in the background, so the first visitor does not wait for the bundle
   * (off in tests, which start many gateways and open few pages).
   */
  warm?: boolean;
  load?: () => Promise<WebAssets>;
}

export function createDashboard(logger: Logger, options: DashboardOptions = {}): Route[] {
  const load = options.load ?? (() => loadAssets(DASHBOARD_APP, 'npm run dashboard:build'));
  let early = options.warm ? load() : undefined;
  // A failed early build is reported by the first request for the assets, which then tries again.
  early?.catch(() => undefined);
  const loader = (): Promise<WebAssets> => {
    const p = early ?? load();
    early = undefined;
    return p;
  };
  return [
    { method: 'GET', path: '/', handle: servePage },
    { method: 'GET', path: '/pipeline', handle: servePage },
    { method: 'GET', path: '/users/', prefix: true, handle: servePage },
    ...assetRoutes(DASHBOARD_ASSET_PREFIX, 'dashboard', loader, logger),
  ];
}
