/** GraphiQL's browser assets: built from the npm packages by src/web/assets.ts. */
import { join } from 'node:path';
import { loadAssets, type WebApp, type WebAssets } from '../web/assets.js';

export const GRAPHIQL_APP: WebApp = {
  name: 'GraphiQL',
  entry: join(import.meta.dirname, 'client', 'main.ts'),
  prebuiltDir: join(import.meta.dirname, '..', '..', 'dist', 'graphiql'),
};

export const loadGraphiqlAssets = (): Promise<WebAssets> => loadAssets(GRAPHIQL_APP, 'npm run graphiql:build');
