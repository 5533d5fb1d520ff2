/** What every resolver receives. Services are built once per process; loaders once per request. */
import type { HealthService } from '../health/health.service.js';
import type { IngestService } from '../ingest/ingest.service.js';

export interface GatewayServices {
  health: HealthService;
  ingest: IngestService;
}

export interface GatewayContext {
  requestId: string;
  services: GatewayServices;
}
