/** What every resolver receives. Services are built once per process; loaders once per request. */
import type { HealthService } from '../health/health.service.js';
import type { IngestService } from '../ingest/ingest.service.js';
import type { LiveService } from '../live/live.service.js';
import type { Loaders } from '../timescale/loaders.js';
import type { ReadingsService } from '../timescale/readings.service.js';
import type { SeriesService } from '../timescale/series.service.js';
import type { HistoryService } from '../timescale/history.service.js';
import type { ExportService } from '../timescale/export.service.js';
import type { ErasureService } from '../timescale/erasure.service.js';
import type { TrinoService } from '../trino/index.js';
import type { Principal } from '../auth/principal.js';
import type { AggregatePrivacy } from '../auth/privacy.js';
import type { GatewayMetrics } from '../metrics/gateway.metrics.js';
import type { PipelineStatusService } from '../status/pipeline-status.service.js';

export interface GatewayServices {
  health: HealthService;
  ingest: IngestService;
  series: SeriesService;
  readings: ReadingsService;
  trino: TrinoService;
  /** Subscriptions' fan-out from fitbit_processed / fitbit_alerts (src/live). */
  live: LiveService;
  /** The job's stored output: the windows and alerts queries (src/timescale/history.service.ts). */
  history: HistoryService;
  /** A user's readings page by page for GET /users/{userId}/export. */
  exports: ExportService;
  /** This process's Prometheus registry and hooks (src/metrics), served at /metrics. */
  metrics: GatewayMetrics;
  /** `pipelineStatus` (src/status); admin only. */
  pipeline: PipelineStatusService;
  /** What aggregates may show a role that may not read single users (src/auth/privacy.ts). */
  privacy: AggregatePrivacy;
  /** eraseUserData: one user's data out of every store, recorded in the ledger (docs/privacy.md). */
  erasure: ErasureService;
}

export interface GatewayContext {
  requestId: string;
  services: GatewayServices;
  /** DataLoaders for this request only (src/timescale/loaders.ts). */
  loaders: Loaders;
  /**
   * The caller's raw credential (HTTP `authorization` header or graphql-ws `connection_init`
   * payload), not yet verified: the authentication work checks it.
   */
  authorization?: string | undefined;
  /** The verified caller (src/auth); the root-field guard (src/auth/protect-schema.ts) reads it. */
  principal?: Principal | undefined;
}
