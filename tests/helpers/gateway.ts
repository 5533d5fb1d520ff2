/** Starts a real gateway on a free port for a test, with the real stack behind it. */
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createGateway } from '../../src/gateway/app.js';

export interface GqlResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface TestGateway {
  url: string;
  config: Config;
  /** Sends an operation: a string, or a typed document from tests/generated (codegen). */
  gql<T = Record<string, unknown>, V = Record<string, unknown>>(
    query: string | TypedDocumentNode<T, V>,
    variables?: V,
    headers?: Record<string, string>,
  ): Promise<GqlResponse<T>>;
  stop(): Promise<void>;
}

export async function startGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const config = loadConfig({
    ...process.env,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // Tests drive event time themselves (past hours, ticks); a test that wants heartbeats sets this.
    FLINK_HEARTBEAT_INTERVAL_MS: '0',
    ...env,
    PORT: '0',
  });
  const gateway = createGateway({ config, logger: createLogger(config, 'gateway-test') });
  const { url } = await gateway.start();
  return {
    url,
    config,
    async gql(query, variables, headers) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables }),
      });
      return (await res.json()) as GqlResponse<never>;
    },
    stop: () => gateway.stop(),
  };
}
