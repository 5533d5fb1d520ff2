/**
 * The gateway process: builds its collaborators, serves GraphQL over HTTP at /graphql, and stops
 * them in order (HTTP first, then producers and pools).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Config } from '../config.js';
import { formatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { buildGatewaySchema } from '../schema/build.js';
import type { GatewayContext } from './context.js';
import { buildServices } from './services.js';
import { createHttpHandler, type Route } from './http-handler.js';

export const GRAPHQL_PATH = '/graphql';

type Phase = 'initialized' | 'starting' | 'started' | 'stopping' | 'stopped';

export interface Gateway {
  start(): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

export function createGateway(config: Config, logger: Logger): Gateway {
  let phase: Phase = 'initialized';
  const parts = buildServices(config, logger);
  const { services } = parts;
  const development = config.env !== 'production';
  const httpServer: Server = createServer();

  const apollo = new ApolloServer<GatewayContext>({
    schema: buildGatewaySchema(),
    introspection: config.gateway.introspection,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(formatted, error, development),
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ApolloServerPluginLandingPageDisabled()],
  });

  const routes: Route[] = [
    {
      method: 'GET',
      path: '/healthz',
      handle: (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: phase === 'started' ? 'ok' : phase }));
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      handle: (_req, res) => {
        res.statusCode = phase === 'started' ? 200 : 503;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ready: phase === 'started' }));
      },
    },
  ];

  httpServer.on(
    'request',
    createHttpHandler<GatewayContext>({
      apollo,
      context: async (req) => ({
        requestId: (req.headers['x-request-id'] as string | undefined) ?? randomUUID(),
        services,
      }),
      maxBodyBytes: config.gateway.maxBodyBytes,
      graphqlPath: GRAPHQL_PATH,
      routes,
      onError: (err) => logger.error({ err }, 'unhandled error in HTTP handler'),
    }),
  );

  return {
    async start() {
      if (phase !== 'initialized') throw new Error(`gateway cannot start from phase ${phase}`);
      phase = 'starting';
      await parts.start();
      await apollo.start();
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.gateway.port, config.gateway.host, () => resolve());
      });
      phase = 'started';
      const { port } = httpServer.address() as AddressInfo;
      const url = `http://${config.gateway.host}:${port}${GRAPHQL_PATH}`;
      logger.info({ url }, 'gateway listening');
      return { url, port };
    },
    async stop() {
      if (phase === 'stopping' || phase === 'stopped') return;
      const wasStarted = phase === 'started';
      phase = 'stopping';
      if (wasStarted) await apollo.stop(); // drains HTTP (plugin) before returning
      await parts.stop();
      phase = 'stopped';
    },
  };
}
