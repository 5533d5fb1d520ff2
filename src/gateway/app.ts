/**
 * The gateway process: builds its collaborators, serves GraphQL over HTTP at /graphql, and stops
 * them in order (HTTP first, then producers and pools).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { Config } from '../config.js';
import { formatOptionsFor } from '../errors.js';
import type { Logger } from '../logger.js';
import { buildGatewaySchema } from '../schema/build.js';
import { apolloExecutor } from './apollo-executor.js';
import { createOperationPipeline } from '../operation/pipeline.js';
import type { GatewayContext, GatewayServices } from '../resolvers/context.js';
import { buildServices, type ServiceSet } from './services.js';
import { createHttpHandler, type Route } from '../http/http-handler.js';
import { attachLiveWebSocket } from './ws-server.js';
import { WsOperationContext } from './ws-context.js';
import { createLoaders } from '../timescale/loaders.js';
import { createGraphiql } from '../graphiql/routes.js';
import { createDashboard } from '../dashboard/routes.js';
import { createExportRoute } from './export.route.js';
import { createAuthenticator, protectSchema, ROOT_RULES, unclassifiedRootFields } from '../auth/index.js';
import { createLimits, withHttpStatus } from '../limits/index.js';
import { AppError } from '../errors.js';
import { operationPlugin } from '../metrics/operation.plugin.js';
import { createOperationRecorder } from '../metrics/operation.recorder.js';
import { requestIdOf } from '../http/request-id.js';
import { currentRequestId, withRequestScope } from '../process/fault-scope.js';
import type { Principal } from '../auth/principal.js';

export const GRAPHQL_PATH = '/graphql';

/**
 * Root fields whose operations graphql-jit compiles (src/operation/execute.ts): the reads
 * of many points and the writes of many readings, where graphql-js's per-field and per-input-object
 * work was most of the gateway's CPU.
 */
const COMPILED_FIELDS: ReadonlySet<string> = new Set([
  'Query.series',
  'Query.seriesColumns',
  'Mutation.ingestReadings',
  'Mutation.ingestSeries',
]);

/**
 * The gateway's lifecycle, each phase with its data (the shape of Apollo Server's): `started`
 * knows where it listens; `stopping` holds the drain, so every stop() caller waits for the same one.
 */
type GatewayState =
  | { phase: 'initialized' }
  | { phase: 'starting' }
  | { phase: 'started'; url: string; port: number }
  | { phase: 'stopping'; drained: Promise<void> }
  | { phase: 'stopped' };

export interface Gateway {
  start(): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
  /** The process's services, for tests and operators (e.g. `services.live.stats()`). */
  readonly services: GatewayServices;
}

export interface GatewayOptions {
  config: Config;
  logger: Logger;
  /**
   * The collaborators and their lifecycle. Default: the real ones (buildServices: Kafka, Postgres,
   * Trino, Flink). Tests of the request pipeline (auth, limits, error codes, both transports) pass
   * their own and need no running service.
   */
  services?: ServiceSet;
}

export function createGateway(options: GatewayOptions): Gateway {
  const { config, logger } = options;
  let state: GatewayState = { phase: 'initialized' };
  const parts = options.services ?? buildServices(config, logger);
  const { services } = parts;
  const errorFormat = formatOptionsFor(config.env, config.gateway.introspection);
  const { development } = errorFormat;
  const httpServer: Server = createServer();
  // Access rules on every root field (src/auth/policy.ts), for HTTP and WebSocket alike.
  const auth = createAuthenticator(config, logger);
  const limits = createLimits(config.limits, config.postgres.seriesMaxPoints);
  const schema = protectSchema(buildGatewaySchema());
  const unclassified = unclassifiedRootFields(schema, ROOT_RULES);
  if (unclassified.length > 0)
    logger.warn({ fields: unclassified }, 'root fields without an access rule are admin-only (src/auth/policy.ts)');

  // Every policy of an operation, once, for both transports (src/operation/pipeline.ts).
  const pipeline = createOperationPipeline({
    schema,
    limits,
    maxTokens: config.limits.maxTokens,
    introspection: config.gateway.introspection,
    hotFields: COMPILED_FIELDS,
    errorFormat,
    record: createOperationRecorder({ metrics: services.metrics, logger: logger.child({ part: 'graphql' }) }),
  });

  // The HTTP adapter: Apollo parses and validates with the pipeline's options, then hands each
  // operation to the pipeline (admission and execution) through its gateway interface.
  const apollo = new ApolloServer<GatewayContext>({
    gateway: apolloExecutor(pipeline),
    validationRules: [...pipeline.validationRules],
    parseOptions: pipeline.parseOptions,
    introspection: pipeline.introspection,
    includeStacktraceInErrorResponses: false,
    // The process owns the signals (src/process/run.ts): one SIGTERM stops the whole gateway in
    // order, Apollo with the rest. Apollo's own handler (on outside NODE_ENV=test) would stop Apollo
    // alone and send the signal again, which the process takes for a second one: exit 1, no drain.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => pipeline.formatError(formatted, error),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are used; Apollo's default cache-control plugin would otherwise hook every
      // field resolution (8,640 of them for a day of MINUTE buckets).
      ApolloServerPluginCacheControlDisabled(),
      operationPlugin<GatewayContext>({ record: pipeline.record }),
    ],
  });

  /** Who calls over HTTP, with the rate limits: /graphql and the export route alike. */
  const authenticateHttp = async (req: IncomingMessage): Promise<Principal> => {
    let principal: Principal;
    try {
      principal = await auth.authenticate(req.headers.authorization);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      // No subject to charge: failed attempts are rate limited by the client's address.
      limits.chargeAnonymous(req.socket.remoteAddress ?? 'unknown');
      // 401 with a challenge: the whole request is refused before its body is read (docs/security.md).
      throw withHttpStatus(err, 401, [['www-authenticate', 'Bearer']]);
    }
    // Charged on arrival, before the body is read (the pipeline charges graphql-ws per operation).
    limits.charge(principal, true);
    return principal;
  };

  const routes: Route[] = [
    {
      method: 'GET',
      path: '/healthz',
      handle: (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: state.phase === 'started' ? 'ok' : state.phase }));
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      handle: (_req, res) => {
        res.statusCode = state.phase === 'started' ? 200 : 503;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ready: state.phase === 'started' }));
      },
    },
    { method: 'GET', path: '/metrics', handle: (req, res) => services.metrics.handle(req, res) },
  ];

  // Before the dashboard's /users/{id} pages: the export is /users/{id}/export.
  routes.push(createExportRoute({ exports: services.exports, authenticate: authenticateHttp, logger }));

  // GraphiQL from local assets (no CDN); off in production together with introspection.
  const graphiql = config.gateway.graphiql ? createGraphiql(logger.child({ part: 'graphiql' })) : undefined;
  if (graphiql) routes.push(...graphiql.routes);
  if (config.gateway.dashboard)
    routes.push(...createDashboard(logger.child({ part: 'dashboard' }), { warm: config.env !== 'test' }));

  const handle = services.metrics.instrumentHttp(
    createHttpHandler<GatewayContext, Principal>({
      apollo,
      authenticate: authenticateHttp,
      context: (req, principal) => ({
        requestId: requestIdOf(req),
        services,
        loaders: createLoaders(services),
        authorization: req.headers.authorization,
        principal,
      }),
      maxBodyBytes: config.gateway.maxBodyBytes,
      graphqlPath: GRAPHQL_PATH,
      routes,
      graphiqlHtml: graphiql?.html,
      onError: (err, clientGone) => {
        if (clientGone) logger.debug({ err, requestId: currentRequestId() }, 'client went away mid-request');
        else logger.error({ err, requestId: currentRequestId() }, 'unhandled error in HTTP handler');
      },
    }),
    [GRAPHQL_PATH, ...routes.map((r) => r.path)],
  );
  // Everything a request schedules runs in its scope, so an error anywhere in it is logged with its id.
  httpServer.on('request', (req, res) => withRequestScope(requestIdOf(req), () => handle(req, res)));

  // graphql-ws subscriptions on the same server and path (HTTP upgrade requests).
  const liveWs = attachLiveWebSocket<GatewayContext>({
    httpServer,
    path: GRAPHQL_PATH,
    pipeline,
    logger,
    authenticate: auth.connection,
    connectionCap: limits.connectionCap(),
    context: ({ credentials }) => new WsOperationContext(services, credentials.authorization, credentials.principal),
    keepAliveMs: config.live.keepAliveMs,
    maxPayloadBytes: config.gateway.maxBodyBytes,
    development,
    completeAll: () => services.live.completeAll(),
  });

  /** Subscriptions complete and sockets close (1001) first: upgraded sockets would hold the HTTP close. */
  async function drain(wasStarted: boolean): Promise<void> {
    await liveWs.dispose();
    if (wasStarted) await apollo.stop(); // drains HTTP (plugin) before returning
    await parts.stop();
    state = { phase: 'stopped' };
  }

  return {
    services,
    async start() {
      if (state.phase !== 'initialized') throw new Error(`gateway cannot start from phase ${state.phase}`);
      state = { phase: 'starting' };
      await parts.start();
      await apollo.start();
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.gateway.port, config.gateway.host, () => resolve());
      });
      const { port } = httpServer.address() as AddressInfo;
      const url = `http://${config.gateway.host}:${port}${GRAPHQL_PATH}`;
      state = { phase: 'started', url, port };
      logger.info({ url }, 'gateway listening');
      return { url, port };
    },
    stop() {
      const s = state;
      switch (s.phase) {
        case 'stopping':
          return s.drained;
        case 'stopped':
          return Promise.resolve();
        case 'initialized':
        case 'starting':
        case 'started': {
          const drained = drain(s.phase === 'started');
          state = { phase: 'stopping', drained };
          return drained;
        }
        default: {
          const never: never = s;
          throw new Error(`gateway in an unknown phase ${JSON.stringify(never)}`);
        }
      }
    },
  };
}
