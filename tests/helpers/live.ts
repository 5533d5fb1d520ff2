/** Live-subscription helpers: an in-process gateway with its services, graphql-ws clients, producers. */
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createGateway, type Gateway } from '../../src/gateway/app.js';

export interface LiveGateway {
  gateway: Gateway;
  config: Config;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export async function startLiveGateway(env: Record<string, string> = {}): Promise<LiveGateway> {
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
  return { gateway, config, url, wsUrl: url.replace(/^http/, 'ws'), stop: () => gateway.stop() };
}

export function wsClient(wsUrl: string, authorization = 'Bearer test-token'): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
}

/**
 * A graphql-ws client that reconnects by itself, as an application's would: every 200 ms, for as
 * long as a fault test needs. `onConnected` counts the connections.
 */
export function retryingWsClient(wsUrl: string, onConnected: () => void = () => undefined): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 500,
    retryWait: () => new Promise((r) => setTimeout(r, 200)),
    shouldRetry: () => true,
    onNonLazyError: () => undefined,
    on: { connected: onConnected },
  });
}

/** One subscription whose events (and end) are collected for assertions. */
export interface Collected<T> {
  results: ExecutionResult<T>[];
  data: T[];
  completed: boolean;
  error: unknown;
  unsubscribe(): void;
}

export function collectSubscription<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Collected<T> {
  const c: Collected<T> = { results: [], data: [], completed: false, error: undefined, unsubscribe: () => undefined };
  c.unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (r) => {
        c.results.push(r as ExecutionResult<T>);
        if (r.data) c.data.push(r.data as T);
      },
      error: (e) => {
        c.error = e;
      },
      complete: () => {
        c.completed = true;
      },
    },
  );
  return c;
}

export function testProducerKafka(): Kafka {
  const config = loadConfig();
  return new Kafka({ clientId: 'fitbit-live-tests', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
}

export async function connectedProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

/** A metric window v1 object (docs/contracts.md) for a window of `widthMs` starting at `startMs`. */
export function windowV1(userId: string, metric: string, startMs: number, values: number[], widthMs = 60_000) {
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    userId,
    metric,
    windowStart: new Date(startMs).toISOString(),
    windowEnd: new Date(startMs + widthMs).toISOString(),
    count: values.length,
    avg: sum / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    sum,
  };
}

export async function produceJson(producer: Producer, topic: string, events: { userId: string }[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })) });
}

export const WINDOWS_QUERY = /* GraphQL */ `
  subscription Windows($userId: ID!, $metrics: [Metric!]) {
    metricWindows(userId: $userId, metrics: $metrics) {
      userId
      metric
      windowStart
      windowEnd
      count
      avg
      min
      max
      sum
      dropped
    }
  }
`;

export const ALERTS_QUERY = /* GraphQL */ `
  subscription Alerts($userId: ID) {
    alerts(userId: $userId) {
      alertId
      userId
      kind
      time
      message
      details
      dropped
    }
  }
`;

/** The window subscription with its cursor, resumable with `after`. */
export const RESUMABLE_WINDOWS_QUERY = /* GraphQL */ `
  subscription ResumableWindows($userId: ID!, $metrics: [Metric!], $after: String) {
    metricWindows(userId: $userId, metrics: $metrics, after: $after) {
      userId
      metric
      windowStart
      sum
      cursor
    }
  }
`;

export interface ResumableWindowData {
  metricWindows: { userId: string; metric: string; windowStart: string; sum: number; cursor: string };
}

export const RESUMABLE_ALERTS_QUERY = /* GraphQL */ `
  subscription ResumableAlerts($userId: ID, $after: String) {
    alerts(userId: $userId, after: $after) {
      alertId
      userId
      cursor
    }
  }
`;

export interface ResumableAlertData {
  alerts: { alertId: string; userId: string; cursor: string };
}

export interface WindowData {
  metricWindows: {
    userId: string;
    metric: string;
    windowStart: string;
    windowEnd: string;
    count: number;
    avg: number;
    min: number;
    max: number;
    sum: number;
    dropped: number;
  };
}

export interface AlertData {
  alerts: {
    alertId: string;
    userId: string;
    kind: string;
    time: string;
    message: string;
    details: Record<string, unknown> | null;
    dropped: number;
  };
}

export interface WsConnection {
  client: Client;
  /** Resolves with the close code and reason once the socket closes (e.g. 4401 when refused). */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the server acknowledged `connection_init`. */
  opened: Promise<void>;
}

/** An eager graphql-ws connection that never retries, for tests of what the server accepts or refuses. */
export function connectWs(wsUrl: string, authorization: string | undefined): WsConnection {
  let onClosed!: (v: { code: number; reason: string }) => void;
  let onOpened!: () => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (onClosed = r));
  const opened = new Promise<void>((r) => (onOpened = r));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    on: {
      connected: () => onOpened(),
      closed: (e) =>
        onClosed({ code: (e as { code: number }).code, reason: String((e as { reason: unknown }).reason) }),
    },
  });
  return { client, closed, opened };
}
