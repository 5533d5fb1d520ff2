/**
 * Builds the gateway's services once per process, and starts and stops them in order. Each new
 * capability adds itself here (one entry in `GatewayServices`, one in the parts list).
 */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createKafka } from '../kafka/client.js';
import { createPool } from '../timescale/pool.js';
import { createLakeReader } from '../lake/index.js';
import { createLakeStore } from '../timescale/lake.store.js';
import { createHealthService } from '../health/health.service.js';
import { flinkCheck } from '../flink/health.check.js';
import { kafkaCheck } from '../kafka/health.check.js';
import { postgresCheck } from '../timescale/health.check.js';
import { jobStatus } from '../flink/deploy.js';
import { createReadingPublisher } from '../ingest/reading.publisher.js';
import { createThreadedReadingPublisher } from '../ingest/threaded.publisher.js';
import { createIngestService } from '../ingest/ingest.service.js';
import { createSeriesService } from '../timescale/series.service.js';
import { createReadingsService } from '../timescale/readings.service.js';
import { createTrinoService, trinoCheck } from '../trino/index.js';
import { createLiveService } from '../live/live.service.js';
import { createHistoryService } from '../timescale/history.service.js';
import { createExportService } from '../timescale/export.service.js';
import { createErasureService, loadLatestErasures } from '../timescale/erasure.service.js';
import { createErasureLedgerCache } from '../live/erasure-ledger.js';
import { historyGroupId } from '../consumer/history.writer.js';
import { createHeartbeat } from '../kafka/heartbeat.js';
import type { GatewayServices } from '../resolvers/context.js';
import { createGatewayMetrics } from '../metrics/gateway.metrics.js';
import { instrumentIngest } from '../metrics/ingest.metrics.js';
import { createPipelineStatusService } from '../status/pipeline-status.service.js';
import { sharedAdmin } from '../kafka/offsets.js';
import { createAggregatePrivacy } from '../auth/privacy.js';

/** A collaborator with a lifecycle; started in list order, stopped in reverse. */
interface Part {
  name: string;
  start?(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceSet {
  services: GatewayServices;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function buildServices(config: Config, logger: Logger): ServiceSet {
  const pool = createPool(config.postgres, logger);
  const kafka = createKafka(config.kafka, logger);
  const metrics = createGatewayMetrics({ logger: logger.child({ part: 'metrics' }) });
  const kafkaHealth = kafkaCheck(kafka);
  const publisherOptions = {
    topic: config.kafka.topics.ingestion,
    logger: logger.child({ part: 'publisher' }),
    ackTimeoutMs: config.gateway.ingestAckTimeoutMs,
  };
  const publisher = config.gateway.ingestProducerThread
    ? createThreadedReadingPublisher({ kafka: config.kafka, log: config, ...publisherOptions })
    : createReadingPublisher({ kafka, ...publisherOptions });
  publisher.onProduce = (ms, ok, messages) => metrics.observeProduce(ms, ok, messages);

  const series = createSeriesService(pool, config, logger.child({ part: 'series' }));
  const trino = createTrinoService({
    config,
    logger,
    ...(config.lake.enabled ? { lake: createLakeReader(config, pool) } : {}),
    onQuery: (statement, ms, outcome) => metrics.observeTrinoQuery(statement, ms, outcome),
  });
  const history = createHistoryService(pool, config);
  // The live service replays held events only after checking this copy of the ledger; an erasure
  // through this gateway updates it at once.
  const ledger = createErasureLedgerCache({
    load: () => loadLatestErasures(pool),
    logger: logger.child({ part: 'erasure-ledger' }),
  });
  const offsetsAdmin = sharedAdmin(() => kafka.admin({ retry: { retries: 1 } }));
  const live = createLiveService(
    config,
    logger.child({ part: 'live' }),
    kafka,
    {
      history,
      // The history writer commits a batch's offsets after its rows: its committed offset is how far
      // the store is complete. A group that never committed has stored nothing yet.
      storedUpTo: (topic, partition) =>
        offsetsAdmin.use(async (admin) => {
          const [committed] = await admin.fetchOffsets({ groupId: historyGroupId(config), topics: [topic] });
          const offset = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
          return Math.max(0, Number(offset));
        }),
    },
    ledger,
  );
  const erasure = createErasureService({
    pool,
    logger,
    caches: [{ name: 'trino aggregates', clear: () => trino.clearCache() }],
    onErased: (userId, erasedAt) => ledger.note(userId, erasedAt.getTime()),
  });

  const services: GatewayServices = {
    health: createHealthService([
      kafkaHealth,
      flinkCheck(config, (signal) => jobStatus(config, { signal }).then((j) => j.state ?? 'not deployed')),
      trinoCheck(config.trino),
      postgresCheck(pool),
    ]),
    ingest: instrumentIngest(
      createIngestService({ publisher, maxReadings: config.gateway.maxReadingsPerMutation }),
      metrics,
    ),
    series,
    readings: createReadingsService(pool, config),
    trino,
    live,
    history,
    exports: createExportService(pool),
    metrics,
    privacy: createAggregatePrivacy(config.privacy),
    erasure,
    pipeline: createPipelineStatusService({
      config,
      logger,
      ...(config.lake.enabled ? { lake: createLakeStore(pool) } : {}),
      admin: sharedAdmin(() => kafka.admin({ retry: { retries: 1 } })),
      health: createHealthService([
        postgresCheck(pool),
        {
          name: 'trino',
          check: async (signal) => `SELECT 1 in ${Math.round((await trino.ping({ signal })).latencyMs)} ms`,
        },
      ]),
    }),
  };
  metrics.attach({
    live,
    trino,
    pool,
    flinkJobRunning: (signal) => jobStatus(config, { signal }).then((j) => j.running),
  });

  const heartbeat =
    config.flink.heartbeatIntervalMs > 0
      ? createHeartbeat({
          kafka,
          topic: config.kafka.topics.ingestion,
          intervalMs: config.flink.heartbeatIntervalMs,
          logger,
        })
      : undefined;

  const parts: Part[] = [
    { name: 'postgres pool', stop: () => pool.end() },
    { name: 'series flavour', start: () => series.start(), stop: async () => undefined },
    { name: 'trino', start: () => trino.start(), stop: () => trino.stop() },
    { name: 'kafka health', stop: () => kafkaHealth.stop() },
    { name: 'reading publisher', start: () => publisher.start(), stop: () => publisher.stop() },
    { name: 'erasure ledger', start: () => ledger.start(), stop: () => ledger.stop() },
    { name: 'live hub', start: () => live.start(), stop: () => live.stop() },
    ...(heartbeat ? [{ name: 'flink heartbeat', start: () => heartbeat.start(), stop: () => heartbeat.stop() }] : []),
    { name: 'pipeline status', stop: () => services.pipeline.stop() },
    { name: 'history offsets', stop: () => offsetsAdmin.close() },
  ];

  return {
    services,
    async start() {
      for (const p of parts) await p.start?.();
    },
    async stop() {
      for (const p of [...parts].reverse()) {
        try {
          await p.stop();
        } catch (err) {
          logger.warn({ err, part: p.name }, 'error while stopping');
        }
      }
    },
  };
}
