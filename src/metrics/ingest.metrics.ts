/** Counts what `ingestReadings` did with each reading, around the ingest service. */
import { AppError } from '../errors.js';
import type { IngestService } from '../ingest/ingest.service.js';
import type { GatewayMetrics } from './gateway.metrics.js';

export function instrumentIngest(
  service: IngestService,
  metrics: Pick<GatewayMetrics, 'countReadings'>,
): IngestService {
  return {
    async ingest(readings, requestId) {
      try {
        const outcome = await service.ingest(readings, requestId);
        metrics.countReadings(
          outcome.accepted,
          outcome.rejected.map((r) => r.code),
        );
        return outcome;
      } catch (err) {
        // The whole mutation failed (batch too large, Kafka away): none of its readings was accepted.
        const code = err instanceof AppError ? err.code : 'INTERNAL_SERVER_ERROR';
        metrics.countReadings(
          0,
          Array.from({ length: readings.length }, () => code),
        );
        throw err;
      }
    },
  };
}
