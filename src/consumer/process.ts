/**
 * The consumer worker as a process: the worker itself plus its ops endpoints on
 * `CONSUMER_METRICS_PORT` (/metrics, /healthz, /readyz). Start: endpoints first (so an orchestrator
 * sees "alive, not ready" during migrations and the group join), then the worker. Stop: not ready at
 * once, then the worker (finishes or abandons the batch in hand, commits, leaves the group, closes
 * its producer and pool), then the endpoints, last, so a scrape during the drain still answers.
 */
import type { Config } from '../config.js';
import { createKafka } from '../kafka/client.js';
import type { Logger } from '../logger.js';
import { createConsumerWorker, type ConsumerWorker, type ConsumerWorkerOptions } from './worker.js';
import { createHistoryWriter, type HistoryWriter } from './history.writer.js';
import { createPool } from '../timescale/pool.js';
import { createTiererFor, type LakeTierer } from '../lake/index.js';
import { createConsumerMetrics, type ConsumerMetrics } from './consumer.metrics.js';
import { sharedAdmin } from '../kafka/offsets.js';
import { createOpsServer } from '../http/ops-server.js';

export interface ConsumerProcess {
  readonly worker: ConsumerWorker;
  /** Stores the job's output; undefined with CONSUMER_STORE_HISTORY=false. */
  readonly history: HistoryWriter | undefined;
  readonly metrics: ConsumerMetrics;
  /** Tiers closed hours into the lake; undefined with LAKE_ENABLED=false. */
  readonly tierer: LakeTierer | undefined;
  /** Resolves once consuming; returns where the ops endpoints listen. */
  start(): Promise<{ opsUrl: string; port: number }>;
  stop(): Promise<void>;
}

/** The process's lifecycle: `started` knows where its endpoints listen; `stopping` holds the drain. */
type ProcessState =
  | { phase: 'initialized' }
  | { phase: 'starting' }
  | { phase: 'started'; opsUrl: string; port: number }
  | { phase: 'stopping'; drained: Promise<void> }
  | { phase: 'stopped' };

/** Reads the phase through a call: it changes under awaits, which narrowing ignores. */
const phaseOf = (state: ProcessState): ProcessState['phase'] => state.phase;

/** The process wires every part, so it alone takes the whole configuration and hands each its slices. */
export type ConsumerProcessOptions = Omit<ConsumerWorkerOptions, 'kafka' | 'config'> & {
  config: Config;
  logger: Logger;
};

export function createConsumerProcess(options: ConsumerProcessOptions): ConsumerProcess {
  const { config, logger } = options;
  const kafka = createKafka(config.kafka, logger, { clientId: `${config.kafka.clientId}-consumer` });
  const worker = createConsumerWorker({
    ...options,
    config: { kafka: config.kafka, consumer: config.consumer, postgres: config.postgres },
    kafka,
  });
  const historyPool = config.consumer.storeHistory
    ? createPool(config.postgres, logger, { max: 2, applicationName: 'fitbit-history-writer' })
    : undefined;
  const history = historyPool
    ? createHistoryWriter({ config: { kafka: config.kafka }, logger, kafka, pool: historyPool })
    : undefined;
  const lakePool = config.lake.enabled
    ? createPool(config.postgres, logger, { max: 3, applicationName: 'fitbit-lake-tierer' })
    : undefined;
  const tierer = lakePool
    ? createTiererFor({ lake: config.lake, trino: config.trino }, logger, lakePool).tierer
    : undefined;
  const admin = sharedAdmin(() => kafka.admin({ retry: { retries: 1 } }));
  const metrics = createConsumerMetrics({
    stats: () => worker.stats(),
    ...(history ? { historyStats: () => history.stats() } : {}),
    admin,
    groupId: config.kafka.consumerGroup,
    topic: config.kafka.topics.ingestion,
    logger: logger.child({ component: 'consumer-metrics' }),
  });
  let state: ProcessState = { phase: 'initialized' };
  const ops = createOpsServer({
    host: config.gateway.host,
    port: config.consumer.metricsPort,
    metrics: (req, res) => metrics.handle(req, res),
    health: () => {
      const s = worker.stats();
      return { ok: true, detail: { phase: s.phase, batches: s.batches, lastBatchAt: s.lastBatchAt } };
    },
    ready: () => state.phase === 'started' && worker.stats().phase === 'started',
  });

  return {
    worker,
    history,
    metrics,
    tierer,
    async start() {
      if (state.phase !== 'initialized') throw new Error(`consumer process cannot start from phase ${state.phase}`);
      state = { phase: 'starting' };
      const { url, port } = await ops.start();
      logger.info({ url }, 'consumer ops endpoints listening (/metrics, /healthz, /readyz)');
      // The worker migrates the database first; the history tables exist once it has started.
      await worker.start();
      await history?.start();
      await tierer?.start();
      // A stop() during the start is under way; readiness stays off.
      if (phaseOf(state) === 'starting') state = { phase: 'started', opsUrl: url, port };
      return { opsUrl: url, port };
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
          // Not ready at once (the state below), then the parts, the endpoints last.
          const drained = (async () => {
            await tierer?.stop();
            await lakePool?.end();
            await history?.stop();
            await historyPool?.end();
            await worker.stop();
            await admin.close();
            await ops.stop();
            state = { phase: 'stopped' };
          })();
          state = { phase: 'stopping', drained };
          return drained;
        }
        default: {
          const never: never = s;
          throw new Error(`consumer process in an unknown phase ${JSON.stringify(never)}`);
        }
      }
    },
  };
}
