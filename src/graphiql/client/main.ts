/**
 * The GraphiQL page's script, bundled by src/graphiql/bundle.ts from the npm packages (no CDN).
 * Queries and mutations go over HTTP POST; subscriptions over graphql-ws on the same path, so
 * the page works against whatever host and port served it.
 */
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import 'graphiql/style.css';

const path = '/graphql';
const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;

const fetcher = createGraphiQLFetcher({
  url: `${location.origin}${path}`,
  wsClient: createClient({ url: wsUrl, lazy: true, retryAttempts: 3 }),
});

const defaultQuery = `# Per-user series from the time-series store. Subscriptions run over WebSocket.
{
  series(userId: "user-1", metric: HEART_RATE, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", bucket: HOUR) {
    time
    count
    avg
    min
    max
  }
}
`;

const root = document.getElementById('graphiql');
if (root) createRoot(root).render(createElement(GraphiQL, { fetcher, defaultQuery }));
