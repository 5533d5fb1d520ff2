/** Counts what `ingestReadings` did with each reading, around the ingest service. */
import { AppError } from '../errors.js';
import type { IngestOutcome, IngestService } from '../ingest/ingest.service.js';
import type { GatewayMetrics } from './gateway.metrics.js';

export function instrumentIngest(
  service: IngestService,
  metrics: Pick<GatewayMetrics, 'countReadings'>,
): IngestService {
  const counted = async (count: number, run: () => Promise<IngestOutcome>): Promise<IngestOutcome> => {
    try {
      const outcome = await run();
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
        Array.from({ length: count }, () => code),
      );
      throw err;
    }
  };
  return {
    ingest: (readings, requestId) => counted(readings.length, () => service.ingest(readings, requestId)),
    ingestSeries: (series, requestId) => counted(series.times.length, () => service.ingestSeries(series, requestId)),
  };
}
