/**
 * The gateway's Prometheus metrics. Event metrics (HTTP and GraphQL latency, readings, Kafka
 * produce, Trino queries) are recorded as things happen through the hooks below; state metrics
 * (live subscriptions, Trino cache, pg pool, Flink job) are read from the services on each scrape.
 * See docs/operations.md for what each series means and the alerts built on them.
 */
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { LiveStats } from '../live/hub.js';
import type { TrinoServiceStats } from '../trino/index.js';
import { boundedLabels, createRegistry, readGauge, routeLabel, serveMetrics, totalsCounter } from './registry.js';

/** Seconds; from a cached Trino answer (sub-millisecond) to a slow aggregate or a produce timeout. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Operation names come from clients; past this many distinct names (or a long or odd one), they are counted as 'other'. */
const MAX_OPERATION_NAMES = 200;

export type OperationOutcome = 'ok' | 'error' | 'invalid';

/** How an operation reached the gateway: an HTTP request, or a graphql-ws message on a WebSocket. */
export type OperationTransport = 'http' | 'ws';

export interface PoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** What the scrape-time gauges read; attached once the services exist. */
export interface GatewayMetricSources {
  live: { stats(): LiveStats };
  trino: { stats(): TrinoServiceStats };
  pool: PoolLike;
  /** Whether the Flink processing job is RUNNING; throws when Flink does not answer. */
  flinkJobRunning(signal: AbortSignal): Promise<boolean>;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Wraps the HTTP request listener to time every request by route and status. */
  instrumentHttp(
    listener: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
    routes: Iterable<string>,
  ): (req: IncomingMessage, res: ServerResponse) => void;
  /** Called by the operation recorder (operation.recorder.ts) only. */
  observeOperation(
    operation: string | null | undefined,
    type: string,
    outcome: OperationOutcome,
    seconds: number,
    transport: OperationTransport,
  ): void;
  /** Readings of one mutation: how many were accepted, and the code of each rejected one. */
  countReadings(accepted: number, rejectedCodes: Iterable<string>): void;
  /** ReadingPublisher.onProduce. */
  observeProduce(latencyMs: number, ok: boolean, messages: number): void;
  /** The Trino runner's per-query hook. */
  observeTrinoQuery(statement: string, elapsedMs: number, outcome: string): void;
  attach(sources: GatewayMetricSources): void;
  /** GET /metrics. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface GatewayMetricsOptions {
  logger: Logger;
  /** How long the Flink job state is reused between scrapes. Default 10 000 ms. */
  flinkCacheMs?: number;
  /** Bound on asking Flink at scrape time. Default 2 000 ms. */
  flinkTimeoutMs?: number;
}

export function createGatewayMetrics(options: GatewayMetricsOptions): GatewayMetrics {
  const { logger } = options;
  const flinkCacheMs = options.flinkCacheMs ?? 10_000;
  const flinkTimeoutMs = options.flinkTimeoutMs ?? 2_000;
  const registry = createRegistry({ process: 'gateway' });

  const http = new Histogram({
    name: 'fitbit_http_request_duration_seconds',
    help: 'HTTP requests served by the gateway, by route, method and status code (WebSocket upgrades excluded).',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const operations = new Histogram({
    name: 'fitbit_graphql_operation_duration_seconds',
    help: 'GraphQL operations by operation name, type, outcome (ok, error: the result carries errors, invalid: not parsed or not valid) and transport (http, ws); a subscription is timed to its start.',
    labelNames: ['operation', 'type', 'outcome', 'transport'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const accepted = new Counter({
    name: 'fitbit_ingest_readings_accepted_total',
    help: 'Readings accepted by ingestReadings (acknowledged by Kafka).',
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'fitbit_ingest_readings_rejected_total',
    help: 'Readings not accepted by ingestReadings, by error code (validation codes, BATCH_TOO_LARGE, KAFKA_UNAVAILABLE, KAFKA_TIMEOUT).',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const produce = new Histogram({
    name: 'fitbit_kafka_produce_duration_seconds',
    help: 'Produce requests to the ingestion topic, from send to acknowledgement by all in-sync replicas, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const produced = new Counter({
    name: 'fitbit_kafka_produced_messages_total',
    help: 'Messages in produce requests to the ingestion topic, by outcome (ok: acknowledged, error: the request failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const trinoQueries = new Histogram({
    name: 'fitbit_trino_query_duration_seconds',
    help: 'Queries the gateway ran in Trino (cache misses and health pings), by statement and outcome (ok or a TRINO_* code).',
    labelNames: ['statement', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  const operationNames = boundedLabels(MAX_OPERATION_NAMES);
  const operationLabel = (name: string | null | undefined): string => (name ? operationNames(name) : 'anonymous');

  let attached = false;
  const attach = (s: GatewayMetricSources): void => {
    if (attached) throw new Error('gateway metrics: sources already attached');
    attached = true;
    readGauge(
      registry,
      'fitbit_live_subscriptions',
      'Open GraphQL subscriptions on this instance, by kind.',
      ['kind'],
      () => {
        const st = s.live.stats();
        return [
          [{ kind: 'metric_windows' }, st.windowSubscribers],
          [{ kind: 'alerts' }, st.alertSubscribers],
        ];
      },
    );
    readGauge(
      registry,
      'fitbit_live_buffered_events',
      "Events waiting in subscribers' queues on this instance.",
      [],
      () => [[{}, s.live.stats().buffered]],
    );
    totalsCounter(
      registry,
      'fitbit_live_events_total',
      'Events from fitbit_processed / fitbit_alerts by what became of them (received_windows, received_alerts, delivered: copies queued to subscribers, dropped: copies lost to a full subscriber queue, duplicate, malformed).',
      ['result'],
      () => {
        const st = s.live.stats();
        return [
          [{ result: 'received_windows' }, st.windowsReceived],
          [{ result: 'received_alerts' }, st.alertsReceived],
          [{ result: 'delivered' }, st.delivered],
          [{ result: 'dropped' }, st.dropped],
          [{ result: 'duplicate' }, st.duplicates],
          [{ result: 'malformed' }, st.malformed],
        ];
      },
    );
    totalsCounter(
      registry,
      'fitbit_live_resumed_subscriptions_total',
      'Subscriptions resumed after a cursor on this instance.',
      [],
      () => [[{}, s.live.stats().resumed]],
    );
    totalsCounter(
      registry,
      'fitbit_live_replayed_events_total',
      'Events replayed to subscriptions resumed after a cursor (from the replay log or the history store).',
      [],
      () => [[{}, s.live.stats().replayed]],
    );
    readGauge(
      registry,
      'fitbit_live_replay_log_events',
      'Events held in the replay log for resumed subscriptions (both output topics).',
      [],
      () => [[{}, s.live.stats().replayHeld]],
    );
    totalsCounter(
      registry,
      'fitbit_trino_cache_requests_total',
      'Aggregate requests (cohortStats, leaderboard) by how the result cache answered: hit, miss (a Trino query ran), coalesced (joined a running identical query).',
      ['result'],
      () => {
        const st = s.trino.stats();
        return [
          [{ result: 'hit' }, st.hits],
          [{ result: 'miss' }, st.misses],
          [{ result: 'coalesced' }, st.coalesced],
        ];
      },
    );
    readGauge(registry, 'fitbit_trino_cache_entries', 'Answers held by the Trino result cache.', [], () => [
      [{}, s.trino.stats().size],
    ]);
    readGauge(
      registry,
      'fitbit_trino_gate_queries',
      'Aggregate queries of this gateway in Trino, by state (running, queued: waiting for a slot; TRINO_MAX_CONCURRENT_QUERIES, TRINO_MAX_QUEUED_QUERIES).',
      ['state'],
      () => {
        const g = s.trino.stats().gate;
        return [
          [{ state: 'running' }, g.running],
          [{ state: 'queued' }, g.queued],
        ];
      },
    );
    totalsCounter(
      registry,
      'fitbit_trino_busy_refusals_total',
      'Aggregate requests refused with TRINO_BUSY because this gateway already ran and queued as many Trino queries as it may.',
      [],
      () => [[{}, s.trino.stats().gate.refused]],
    );
    readGauge(
      registry,
      'fitbit_pg_pool_connections',
      "Connections of the gateway's Postgres pool, by state (total, idle).",
      ['state'],
      () => [
        [{ state: 'total' }, s.pool.totalCount],
        [{ state: 'idle' }, s.pool.idleCount],
      ],
    );
    readGauge(
      registry,
      'fitbit_pg_pool_waiting_clients',
      "Queries waiting for a free connection of the gateway's Postgres pool.",
      [],
      () => [[{}, s.pool.waitingCount]],
    );

    // A scrape every few seconds from several Prometheus servers must not become as many calls to
    // the JobManager: the answer is reused for flinkCacheMs, and one call is shared by concurrent scrapes.
    let cached: { at: number; value: number } | undefined;
    let inFlight: Promise<number> | undefined;
    const flinkRunning = (): Promise<number> => {
      if (cached && Date.now() - cached.at < flinkCacheMs) return Promise.resolve(cached.value);
      inFlight ??= s
        .flinkJobRunning(AbortSignal.timeout(flinkTimeoutMs))
        .then(
          (running) => (running ? 1 : 0),
          (err: unknown) => {
            logger.debug({ err: (err as Error).message }, 'flink job state unknown at scrape; reporting not running');
            return 0;
          },
        )
        .then((value) => {
          cached = { at: Date.now(), value };
          inFlight = undefined;
          return value;
        });
      return inFlight;
    };
    readGauge(
      registry,
      'fitbit_flink_job_running',
      '1 when the Flink processing job is RUNNING, 0 when it is in any other state, absent, or Flink does not answer (cached for a few seconds).',
      [],
      async () => [[{}, await flinkRunning()]],
    );
  };

  return {
    registry,
    instrumentHttp(listener, routes) {
      const known = new Set(routes);
      return (req, res) => {
        const end = http.startTimer();
        // Bound to the request's scope: an error in it is logged with the request id (src/process/fault-scope.ts).
        res.once(
          'close',
          AsyncResource.bind(() =>
            end({ route: routeLabel(req, known), method: req.method ?? 'GET', status: String(res.statusCode) }),
          ),
        );
        void listener(req, res);
      };
    },
    observeOperation(operation, type, outcome, seconds, transport) {
      operations.observe({ operation: operationLabel(operation), type, outcome, transport }, seconds);
    },
    countReadings(n, codes) {
      if (n > 0) accepted.inc(n);
      const byCode = new Map<string, number>();
      for (const code of codes) byCode.set(code, (byCode.get(code) ?? 0) + 1);
      for (const [code, count] of byCode) rejected.inc({ code }, count);
    },
    observeProduce(latencyMs, ok, messages) {
      const outcome = ok ? 'ok' : 'error';
      produce.observe({ outcome }, latencyMs / 1000);
      produced.inc({ outcome }, messages);
    },
    observeTrinoQuery(statement, elapsedMs, outcome) {
      trinoQueries.observe({ statement, outcome }, elapsedMs / 1000);
    },
    attach,
    handle: (_req, res) => serveMetrics(registry, res, (err) => logger.error({ err }, 'metrics collection failed')),
  };
}
